// name: delete_nodes_batch
// description: Reset step 2, run in a loop until it returns 0 (after delete_relationships_batch): delete up to $limit nodes in one transaction, detaching whatever was written in between.
// params: $limit
// returns: n
// mode: write
MATCH (n)
WITH n LIMIT $limit
DETACH DELETE n
RETURN count(*) AS n
