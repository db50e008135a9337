// name: me
// description: My own profile, including private settings and counts.
// params: $id
// returns: user
// mode: read
MATCH (u:User {id: $id})
RETURN u {.id, .handle, .display_name, .bio, .created_at, .discoverable, .who_can_message,
          roles: coalesce(u.roles, []),
          friend_count: COUNT { (u)-[:FRIENDS]-() },
          post_count: COUNT { (u)-[:POSTED]->() }} AS user
