// name: list_requests_outgoing
// description: My pending requests, newest first, keyset-paginated on (created_at desc, to id asc).
// params: $me, $after_at, $after_id, $limit
// returns: items [{user, created_at [epochMillis, nanosecond]}] (one record, in page order)
// mode: read
MATCH (:User {id: $me})-[r:REQUESTED {status: 'pending'}]->(u:User)
WHERE $after_at IS NULL OR r.created_at < datetime($after_at)
   OR (r.created_at = datetime($after_at) AND u.id > $after_id)
WITH u, r
ORDER BY r.created_at DESC, u.id ASC
LIMIT $limit
// One record holding the page, rows in order; timestamps as [epochMillis, nanosecond]
// (the Python driver's cost is per record and per DateTime; graph.db.Graph.read_page).
RETURN collect({
  user: u {.id, .handle, .display_name},
  created_at: [r.created_at.epochMillis, r.created_at.nanosecond]
}) AS items
