// name: users_page
// description: One page of users for export, keyset-paginated by id (the unique index orders it): users with id > $after, at most $limit, in id order. Start with $after = ''. The page is one record holding a list of rows, and created_at comes as epoch millis + nanosecond (UTC): the Python driver's cost per record (~40 us) and per DateTime value (~100 us) dominated the export; graph.serialize.utc_iso formats the timestamp.
// params: $after, $limit
// returns: rows [[id, handle, display_name, created_at_ms, created_at_ns]]
// mode: read
MATCH (u:User)
WHERE u.id > $after
WITH u
ORDER BY u.id
LIMIT $limit
RETURN collect([u.id, u.handle, u.display_name,
                u.created_at.epochMillis, u.created_at.nanosecond]) AS rows
