// name: comment
// description: $me comments on a post: comment_count and affinity (+2 towards the author) change in the same transaction. The post is locked before its count is read.
// params: $me, $post_id, $id, $text
// returns: comment
// mode: write
MATCH (u:User {id: $me})
SET u._lock = true
WITH u
MATCH (a:User)-[:POSTED]->(p:Post {id: $post_id})
SET p._lock = true
REMOVE u._lock, p._lock
CREATE (u)-[:COMMENTED]->(c:Comment {id: $id, text: $text, created_at: datetime()})-[:ON]->(p)
SET p.comment_count = p.comment_count + 1
WITH u, a, p, c
CALL (u, a) {
  WITH u, a WHERE u <> a
  MERGE (u)-[i:INTERACTS]->(a)
  ON CREATE SET i.weight = 0
  SET i.weight = i.weight + 2, i.last_at = datetime()
}
RETURN c {.id, .text, .created_at, post_id: p.id, author: u {.id, .handle, .display_name}} AS comment
