// name: public_by_id
// description: Another user's public profile as the viewer sees it; no row when either has blocked the other.
// params: $viewer_id, $id
// returns: user
// mode: read
MATCH (u:User {id: $id})
MATCH (v:User {id: $viewer_id})
WHERE NOT EXISTS { (v)-[:BLOCKED]-(u) }
RETURN u {.id, .handle, .display_name, .bio, .created_at,
          friend_count: COUNT { (u)-[:FRIENDS]-() },
          post_count: COUNT { (u)-[:POSTED]->() },
          is_friend: EXISTS { (v)-[:FRIENDS]-(u) }} AS user
