// name: find_user
// description: Look a user up by handle (case-insensitive) to get the id the other queries take, with the friendship degree.
// params: $handle
// returns: id, handle, display_name, created_at, degree
// mode: read
MATCH (u:User {handle_lower: toLower($handle)})
RETURN u.id AS id, u.handle AS handle, u.display_name AS display_name, u.created_at AS created_at,
       COUNT { (u)-[:FRIENDS]-() } AS degree
