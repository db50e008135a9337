// name: credentials_by_handle
// description: What login needs: the hash, token version and roles of a handle (case-insensitive).
// params: $handle
// returns: id, password_hash, token_version, roles
// mode: read
MATCH (u:User {handle_lower: toLower($handle)})
RETURN u.id AS id, u.password_hash AS password_hash, u.token_version AS token_version,
       coalesce(u.roles, []) AS roles
