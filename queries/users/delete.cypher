// name: delete
// description: Delete a user with their credential, posts and comments; counters on other people's posts drop by the likes and comments removed, in the same transaction.
// params: $id
// returns: deleted
// mode: write
MATCH (u:User {id: $id})
SET u._lock = true
WITH u
CALL (u) {
  OPTIONAL MATCH (u)-[:LIKED]->(p:Post) WHERE NOT (u)-[:POSTED]->(p)
  SET p.like_count = p.like_count - 1
}
CALL (u) {
  OPTIONAL MATCH (u)-[:COMMENTED]->(c:Comment)-[:ON]->(p:Post) WHERE NOT (u)-[:POSTED]->(p)
  SET p.comment_count = p.comment_count - 1
}
CALL (u) {
  OPTIONAL MATCH (u)-[:POSTED]->(p:Post)
  OPTIONAL MATCH (c:Comment)-[:ON]->(p)
  DETACH DELETE c, p
}
CALL (u) {
  OPTIONAL MATCH (u)-[:COMMENTED]->(c:Comment)
  DETACH DELETE c
}
CALL (u) {
  OPTIONAL MATCH (cred:Credential {user_id: u.id})
  DELETE cred
}
DETACH DELETE u
RETURN true AS deleted
