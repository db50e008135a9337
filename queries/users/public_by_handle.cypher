// name: public_by_handle
// description: Another user's public profile by handle (case-insensitive); no row when either has blocked the other.
// params: $viewer_id, $handle
// returns: user
// mode: read
MATCH (u:User {handle_lower: toLower($handle)})
MATCH (v:User {id: $viewer_id})
WHERE NOT EXISTS { (v)-[:BLOCKED]-(u) }
RETURN u {.id, .handle, .display_name, .bio, .created_at,
          friend_count: COUNT { (u)-[:FRIENDS]-() },
          post_count: COUNT { (u)-[:POSTED]->() },
          is_friend: EXISTS { (v)-[:FRIENDS]-(u) }} AS user
