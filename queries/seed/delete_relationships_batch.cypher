// name: delete_relationships_batch
// description: Reset step 1, run in a loop until it returns 0: delete up to $limit relationships in one transaction. Deleting relationships first keeps each transaction small even around hubs (DETACH DELETE of 10,000 nodes can exceed the transaction memory pool there), and many short transactions stay clear of the server's transaction timeout, which one CALL IN TRANSACTIONS over a million relationships does not.
// params: $limit
// returns: n
// mode: write
MATCH ()-[r]->()
WITH r LIMIT $limit
DELETE r
RETURN count(*) AS n
