// name: triangles_count
// description: Number of triangles through a user (pairs of the user's friends who are friends with each other), like networkx's triangles.
// params: $user_id
// returns: user_id, handle, triangles
// mode: read
MATCH (u:User {id: $user_id})
RETURN u.id AS user_id, u.handle AS handle,
       COUNT { MATCH (u)-[:FRIENDS]-(a:User)-[:FRIENDS]-(b:User)-[:FRIENDS]-(u) WHERE a.id < b.id } AS triangles
