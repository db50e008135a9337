// name: upsert_friendships
// description: Bulk-create friendships from rows {a, b, since} (user ids, any order). Stored once per pair with the smaller id as start node; self-loops skipped. Idempotent.
// params: $rows
// returns: n
// mode: write
UNWIND $rows AS row
WITH row WHERE row.a <> row.b
WITH CASE WHEN row.a < row.b THEN row.a ELSE row.b END AS lo,
     CASE WHEN row.a < row.b THEN row.b ELSE row.a END AS hi,
     row.since AS since
MATCH (x:User {id: lo})
MATCH (y:User {id: hi})
MERGE (x)-[f:FRIENDS {pair: lo + '|' + hi}]->(y)
ON CREATE SET f.since = coalesce(since, datetime())
RETURN count(*) AS n
