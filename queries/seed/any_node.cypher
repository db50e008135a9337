// name: any_node
// description: Whether the graph holds any node at all (the seeds' CREATE fast paths need an empty graph).
// params: none
// returns: any
// mode: read
MATCH (n)
RETURN count(n) > 0 AS any
