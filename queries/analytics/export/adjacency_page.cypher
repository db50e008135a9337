// name: adjacency_page
// description: One page of friendships for export, as adjacency: users with id > $after in id order (at most $limit users, keyset on the unique index), each with its friends of larger id, so every friendship appears once, under its smaller id. One record per page rather than one per friendship, and since as epoch millis + nanosecond (UTC), for the reasons in users_page. Start with $after = ''.
// params: $after, $limit
// returns: rows [[id, [[friend id, since_ms, since_ns]] (friend ids ascending)]]
// mode: read
MATCH (u:User)
WHERE u.id > $after
WITH u
ORDER BY u.id
LIMIT $limit
CALL (u) {
  MATCH (u)-[f:FRIENDS]-(v:User)
  WHERE v.id > u.id
  WITH v.id AS vid, f.since AS since
  ORDER BY vid
  RETURN collect([vid, since.epochMillis, since.nanosecond]) AS friends
}
RETURN collect([u.id, friends]) AS rows
