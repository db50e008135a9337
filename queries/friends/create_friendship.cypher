// name: create_friendship
// description: Make two users friends: one FRIENDS relationship per pair, smaller id first, pair key unique. MERGE makes it idempotent.
// params: $a, $b
// returns: pair, since
// mode: write
WITH CASE WHEN $a < $b THEN $a ELSE $b END AS lo, CASE WHEN $a < $b THEN $b ELSE $a END AS hi
MATCH (x:User {id: lo}), (y:User {id: hi})
MERGE (x)-[f:FRIENDS {pair: lo + '|' + hi}]->(y)
ON CREATE SET f.since = datetime()
RETURN f.pair AS pair, f.since AS since
