// name: principal
// description: What a token check needs: does the user still exist, its token version and roles.
// params: $id
// returns: id, handle, token_version, roles
// mode: read
MATCH (u:User {id: $id})
RETURN u.id AS id, u.handle AS handle, u.token_version AS token_version, coalesce(u.roles, []) AS roles
