// name: ego_network_2
// description: The ego network of a user to depth 2 (like networkx's ego_graph with radius=2): every user within 2 friendship hops, the user included, and every friendship among them. One row; no row when the user does not exist. Depth is part of the pattern because variable-length bounds cannot be parameters: pick ego_network_1, _2 or _3.
// params: $user_id
// returns: center, nodes (list of {id, handle, display_name, created_at}), edges (list of {source, target, since}; source/target are user ids)
// mode: read
MATCH (c:User {id: $user_id})
WITH c, COLLECT { MATCH (c)-[:FRIENDS*0..2]-(n:User) RETURN DISTINCT n } AS members
RETURN c.id AS center,
       [m IN members | m {.id, .handle, .display_name, .created_at}] AS nodes,
       COLLECT {
         UNWIND members AS a
         MATCH (a)-[f:FRIENDS]->(b:User)
         WHERE b IN members
         RETURN {source: a.id, target: b.id, since: f.since}
       } AS edges
