// name: friends_of
// description: Friends of $user_id as $viewer_id sees them (nobody blocked either way with the viewer), by handle, keyset-paginated on handle_lower. No rows if the viewer and the user block each other (the API checks visibility first).
// params: $viewer_id, $user_id, $after, $limit
// returns: user, since, key
// mode: read
MATCH (v:User {id: $viewer_id})
MATCH (:User {id: $user_id})-[f:FRIENDS]-(u:User)
WHERE u.handle_lower > $after AND NOT EXISTS { (v)-[:BLOCKED]-(u) }
RETURN u {.id, .handle, .display_name} AS user, f.since AS since, u.handle_lower AS key
ORDER BY u.handle_lower
LIMIT $limit
