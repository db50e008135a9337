// name: delete
// description: Delete my post with its likes and comments. Only matches when $me wrote it.
// params: $me, $id
// returns: deleted
// mode: write
MATCH (:User {id: $me})-[:POSTED]->(p:Post {id: $id})
OPTIONAL MATCH (c:Comment)-[:ON]->(p)
DETACH DELETE c
WITH DISTINCT p
DETACH DELETE p
RETURN count(*) AS deleted
