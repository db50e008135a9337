// name: top_interactions
// description: Strongest affinities (INTERACTS.weight: +1 per like of the other's post, +2 per comment), directed from fan to author.
// params: $limit
// returns: from_handle, to_handle, weight, last_at, are_friends
// mode: read
MATCH (a:User)-[i:INTERACTS]->(b:User)
WHERE i.weight > 0
RETURN a.handle AS from_handle, b.handle AS to_handle, i.weight AS weight, i.last_at AS last_at,
       EXISTS { (a)-[:FRIENDS]-(b) } AS are_friends
ORDER BY weight DESC, from_handle ASC, to_handle ASC
LIMIT $limit
