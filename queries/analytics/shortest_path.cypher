// name: shortest_path
// description: Shortest friendship path between two users, at most 15 hops (a literal: variable-length bounds cannot be parameters). One row when both users exist; length, handles and ids are null when no path of at most 15 hops exists; length 0 when both ids are the same user.
// params: $user_id, $other_id
// returns: length, handles, ids
// mode: read
MATCH (a:User {id: $user_id}), (b:User {id: $other_id})
OPTIONAL MATCH p = shortestPath((a)-[:FRIENDS*0..15]-(b))
RETURN length(p) AS length,
       [n IN nodes(p) | n.handle] AS handles,
       [n IN nodes(p) | n.id] AS ids
