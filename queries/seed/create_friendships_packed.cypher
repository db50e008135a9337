// name: create_friendships_packed
// description: Fast path for an empty graph (seed --reset): CREATE friendships from one packed string per batch (records split on U+001E, fields on U+001F): a, b, since (epoch ms). Pairs must be unique and new (the pair constraint rejects a duplicate); stored once with the smaller id as start node; self-loops skipped.
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
CREATE (x)-[:FRIENDS {pair: lo + '|' + hi, since: datetime({epochMillis: since_ms})}]->(y)
RETURN count(*) AS n
