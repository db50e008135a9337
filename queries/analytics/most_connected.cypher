// name: most_connected
// description: The users with the most friends, highest degree first (ties by handle).
// params: $limit
// returns: id, handle, display_name, degree
// mode: read
MATCH (u:User)
WITH u, COUNT { (u)-[:FRIENDS]-() } AS degree
ORDER BY degree DESC, u.handle ASC
LIMIT $limit
RETURN u.id AS id, u.handle AS handle, u.display_name AS display_name, degree
