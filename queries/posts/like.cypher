// name: like
// description: $me likes a post: idempotent per user and post. Locks the liker then the post before reading, so like_count and the INTERACTS affinity (+1 towards the author) change exactly once per new like, in the same transaction.
// params: $me, $id
// returns: created, like_count
// mode: write
MATCH (u:User {id: $me})
SET u._lock = true
WITH u
MATCH (a:User)-[:POSTED]->(p:Post {id: $id})
SET p._lock = true
REMOVE u._lock, p._lock
WITH u, a, p, EXISTS { (u)-[:LIKED]->(p) } AS already
CALL (u, a, p, already) {
  WITH u, a, p, already WHERE NOT already
  CREATE (u)-[:LIKED {at: datetime()}]->(p)
  SET p.like_count = p.like_count + 1
  WITH u, a WHERE u <> a
  MERGE (u)-[i:INTERACTS]->(a)
  ON CREATE SET i.weight = 0
  SET i.weight = i.weight + 1, i.last_at = datetime()
}
RETURN NOT already AS created, p.like_count AS like_count
