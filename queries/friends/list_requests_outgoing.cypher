// name: list_requests_outgoing
// description: My pending requests, newest first, keyset-paginated on (created_at desc, to id asc).
// params: $me, $after_at, $after_id, $limit
// returns: user, created_at
// mode: read
MATCH (:User {id: $me})-[r:REQUESTED {status: 'pending'}]->(u:User)
WHERE $after_at IS NULL OR r.created_at < datetime($after_at)
   OR (r.created_at = datetime($after_at) AND u.id > $after_id)
RETURN u {.id, .handle, .display_name} AS user, r.created_at AS created_at
ORDER BY r.created_at DESC, u.id ASC
LIMIT $limit
