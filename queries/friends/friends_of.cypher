// name: friends_of
// description: Friends of $user_id as $viewer_id sees them (nobody blocked either way with the viewer), by handle, keyset-paginated on handle_lower. No rows if the viewer and the user block each other (the API checks visibility first).
// params: $viewer_id, $user_id, $after, $limit
// returns: items [{user, since [epochMillis, nanosecond], key}] (one record, in page order)
// mode: read
MATCH (v:User {id: $viewer_id})
MATCH (:User {id: $user_id})-[f:FRIENDS]-(u:User)
WHERE u.handle_lower > $after AND NOT EXISTS { (v)-[:BLOCKED]-(u) }
WITH u, f
ORDER BY u.handle_lower
LIMIT $limit
// One record holding the page, rows in order; timestamps as [epochMillis, nanosecond]
// (the Python driver's cost is per record and per DateTime; graph.db.Graph.read_page).
RETURN collect({
  user: u {.id, .handle, .display_name},
  since: [f.since.epochMillis, f.since.nanosecond],
  key: u.handle_lower
}) AS items
