// name: list_requests_incoming
// description: Pending requests to me, newest first, keyset-paginated on (created_at desc, from id asc).
// params: $me, $after_at, $after_id, $limit
// returns: items [{user, created_at [epochMillis, nanosecond]}] (one record, in page order)
// mode: read
MATCH (u:User)-[r:REQUESTED {status: 'pending'}]->(:User {id: $me})
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
