// name: list_blocks
// description: Users I blocked, newest first, keyset-paginated on (at desc, id asc).
// params: $me, $after_at, $after_id, $limit
// returns: user, at
// mode: read
MATCH (:User {id: $me})-[b:BLOCKED]->(u:User)
WHERE $after_at IS NULL OR b.at < datetime($after_at) OR (b.at = datetime($after_at) AND u.id > $after_id)
RETURN u {.id, .handle, .display_name} AS user, b.at AS at
ORDER BY b.at DESC, u.id ASC
LIMIT $limit
