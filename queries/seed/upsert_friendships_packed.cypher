// name: upsert_friendships_packed
// description: upsert_friendships for packed batches (records split on U+001E, fields on U+001F): a, b, since (epoch ms). Stored once per pair with the smaller id as start node; self-loops skipped; an existing friendship keeps its since. Idempotent.
// params: $packed
// returns: n
// mode: write
UNWIND split($packed, '\u001E') AS record
WITH split(record, '\u001F') AS f
WITH f WHERE f[0] <> f[1]
WITH CASE WHEN f[0] < f[1] THEN f[0] ELSE f[1] END AS lo,
     CASE WHEN f[0] < f[1] THEN f[1] ELSE f[0] END AS hi,
     toInteger(f[2]) AS since_ms
MATCH (x:User {id: lo})
MATCH (y:User {id: hi})
MERGE (x)-[f:FRIENDS {pair: lo + '|' + hi}]->(y)
ON CREATE SET f.since = datetime({epochMillis: since_ms})
RETURN count(*) AS n
