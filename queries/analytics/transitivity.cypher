// name: transitivity
// description: Whole-graph triangles, connected triples and transitivity 3T / triples (global clustering, like networkx's transitivity). Touches every friendship: run it with a generous timeout on big graphs.
// params: none
// returns: triangles, triples, transitivity
// mode: read
CALL () {
  MATCH (a:User)-[:FRIENDS]-(b:User)-[:FRIENDS]-(c:User)-[:FRIENDS]-(a)
  WHERE a.id < b.id < c.id
  RETURN count(*) AS triangles
}
CALL () {
  MATCH (u:User)
  WITH COUNT { (u)-[:FRIENDS]-() } AS k
  RETURN sum(k * (k - 1) / 2) AS triples
}
RETURN triangles, triples,
       CASE WHEN triples = 0 THEN 0.0 ELSE 3.0 * triangles / triples END AS transitivity
