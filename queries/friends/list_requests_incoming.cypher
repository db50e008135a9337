// name: list_requests_incoming
// description: Pending requests to me, newest first, keyset-paginated on (created_at desc, from id asc).
// params: $me, $after_at, $after_id, $limit
// returns: user, created_at
// mode: read
MATCH (u:User)-[r:REQUESTED {status: 'pending'}]->(:User {id: $me})
WHERE $after_at IS NULL OR r.created_at < datetime($after_at)
   OR (r.created_at = datetime($after_at) AND u.id > $after_id)
RETURN u {.id, .handle, .display_name} AS user, r.created_at AS created_at
ORDER BY r.created_at DESC, u.id ASC
LIMIT $limit
