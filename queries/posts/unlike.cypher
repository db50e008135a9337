// name: unlike
// description: $me removes its like: idempotent. like_count and affinity (-1, floor 0) drop only if a like was removed.
// params: $me, $id
// returns: removed, like_count
// mode: write
MATCH (u:User {id: $me})
SET u._lock = true
WITH u
MATCH (a:User)-[:POSTED]->(p:Post {id: $id})
SET p._lock = true
REMOVE u._lock, p._lock
WITH u, a, p
OPTIONAL MATCH (u)-[l:LIKED]->(p)
WITH u, a, p, l, l IS NOT NULL AS removed
CALL (u, a, p, l, removed) {
  WITH u, a, p, l, removed WHERE removed
  DELETE l
  SET p.like_count = p.like_count - 1
  WITH u, a
  OPTIONAL MATCH (u)-[i:INTERACTS]->(a)
  SET i.weight = CASE WHEN i.weight > 0 THEN i.weight - 1 ELSE 0 END
}
RETURN removed, p.like_count AS like_count
