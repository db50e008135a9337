// name: local_clustering
// description: A user's local clustering coefficient, 2T / (k (k - 1)) with T triangles and k friends (0.0 below two friends), like networkx's clustering.
// params: $user_id
// returns: user_id, handle, degree, triangles, clustering
// mode: read
MATCH (u:User {id: $user_id})
WITH u,
     COUNT { (u)-[:FRIENDS]-() } AS degree,
     COUNT { MATCH (u)-[:FRIENDS]-(a:User)-[:FRIENDS]-(b:User)-[:FRIENDS]-(u) WHERE a.id < b.id } AS triangles
RETURN u.id AS user_id, u.handle AS handle, degree, triangles,
       CASE WHEN degree < 2 THEN 0.0 ELSE 2.0 * triangles / (degree * (degree - 1)) END AS clustering
