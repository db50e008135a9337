// name: user_info
// description: The benchmark users' token versions, handles and friend counts (a token must carry the version).
// params: $ids
// returns: id, handle, token_version, degree
// mode: read
UNWIND $ids AS id
MATCH (u:User {id: id})
RETURN u.id AS id, u.handle AS handle, coalesce(u.token_version, 0) AS token_version,
       COUNT { (u)-[:FRIENDS]-() } AS degree
