// name: user_degree
// description: Whether a user exists (no row if not) and how many friends they have; picks ranked suggestions or the cold-start list.
// params: $user_id
// returns: degree
// mode: read
MATCH (me:User {id: $user_id})
RETURN COUNT { (me)-[:FRIENDS]-() } AS degree
