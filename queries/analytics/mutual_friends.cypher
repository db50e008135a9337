// name: mutual_friends
// description: The friends two users have in common, by handle, at most $limit.
// params: $user_id, $other_id, $limit
// returns: id, handle, display_name
// mode: read
MATCH (a:User {id: $user_id})-[:FRIENDS]-(m:User)-[:FRIENDS]-(b:User {id: $other_id})
WHERE m <> a AND m <> b
RETURN m.id AS id, m.handle AS handle, m.display_name AS display_name
ORDER BY handle
LIMIT $limit
