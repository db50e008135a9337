// name: block
// description: $me blocks $other: the friendship goes, pending requests either way are cancelled, the block is recorded (idempotent).
// params: $me, $other
// returns: blocked
// mode: write
MATCH (m:User {id: $me}), (o:User {id: $other})
MERGE (m)-[b:BLOCKED]->(o)
ON CREATE SET b.at = datetime()
WITH m, o
CALL (m, o) {
  OPTIONAL MATCH (m)-[f:FRIENDS]-(o)
  DELETE f
}
CALL (m, o) {
  OPTIONAL MATCH (m)-[r:REQUESTED]-(o) WHERE r.status = 'pending'
  SET r.status = 'cancelled', r.updated_at = datetime()
}
RETURN true AS blocked
