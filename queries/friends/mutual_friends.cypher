// name: mutual_friends
// description: Friends that $viewer_id and $other_id have in common, minus anyone blocked either way with the viewer, by handle, keyset-paginated on handle_lower.
// params: $viewer_id, $other_id, $after, $limit
// returns: items [{user, key}] (one record, in page order)
// mode: read
MATCH (v:User {id: $viewer_id})-[:FRIENDS]-(u:User)-[:FRIENDS]-(:User {id: $other_id})
WHERE u.handle_lower > $after AND NOT EXISTS { (v)-[:BLOCKED]-(u) }
WITH u
ORDER BY u.handle_lower
LIMIT $limit
// One record holding the page, rows in order (the driver's cost is per record).
RETURN collect({user: u {.id, .handle, .display_name}, key: u.handle_lower}) AS items
