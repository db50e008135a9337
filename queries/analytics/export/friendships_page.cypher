// name: friendships_page
// description: One page of friendships for export, keyset-paginated by the unique pair key ('<smaller id>|<larger id>'): pairs > $after, at most $limit. Start with $after = ''.
// params: $after, $limit
// returns: pair, source, target, since
// mode: read
MATCH (a:User)-[f:FRIENDS]->(b:User)
WHERE f.pair > $after
RETURN f.pair AS pair, a.id AS source, b.id AS target, f.since AS since
ORDER BY f.pair
LIMIT $limit
