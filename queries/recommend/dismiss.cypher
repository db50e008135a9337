// name: dismiss
// description: I dismiss another user as a suggestion: MERGE (me)-[:DISMISSED {at}]->(other). Idempotent (the first `at` stays). Reports which of the two users exist; writes nothing unless both do.
// params: $user_id, $other_id
// returns: me_found, other_found
// mode: write
OPTIONAL MATCH (me:User {id: $user_id})
OPTIONAL MATCH (other:User {id: $other_id})
FOREACH (_ IN CASE WHEN me IS NOT NULL AND other IS NOT NULL THEN [1] ELSE [] END |
  MERGE (me)-[d:DISMISSED]->(other)
  ON CREATE SET d.at = datetime()
)
RETURN me IS NOT NULL AS me_found, other IS NOT NULL AS other_found
