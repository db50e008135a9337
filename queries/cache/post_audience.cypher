// name: post_audience
// description: Users whose friends-scope feed can show a post: friends of its author and of everyone who liked or commented on it (and those people themselves), capped.
// params: $post_id, $cap
// returns: id
// mode: read
MATCH (p:Post {id: $post_id})
CALL (p) {
  MATCH (x:User)-[:POSTED|LIKED]->(p) RETURN x
  UNION
  MATCH (x:User)-[:COMMENTED]->(:Comment)-[:ON]->(p) RETURN x
}
CALL (x) {
  RETURN x AS v
  UNION
  MATCH (x)-[:FRIENDS]-(v:User) RETURN v
}
WITH DISTINCT v.id AS id
LIMIT $cap
RETURN id
