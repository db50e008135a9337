// name: list_blocks
// description: Users I blocked, newest first, keyset-paginated on (at desc, id asc).
// params: $me, $after_at, $after_id, $limit
// returns: items [{user, at [epochMillis, nanosecond]}] (one record, in page order)
// mode: read
MATCH (:User {id: $me})-[b:BLOCKED]->(u:User)
WHERE $after_at IS NULL OR b.at < datetime($after_at) OR (b.at = datetime($after_at) AND u.id > $after_id)
WITH u, b
ORDER BY b.at DESC, u.id ASC
LIMIT $limit
// One record holding the page, rows in order; timestamps as [epochMillis, nanosecond]
// (the Python driver's cost is per record and per DateTime; graph.db.Graph.read_page).
RETURN collect({user: u {.id, .handle, .display_name}, at: [b.at.epochMillis, b.at.nanosecond]})
  AS items
