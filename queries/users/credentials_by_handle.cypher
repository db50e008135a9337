// name: credentials_by_handle
// description: What login needs: the stored hash and its pepper id (from the user's :Credential), token version and roles of a handle (case-insensitive). No credential: null hash.
// params: $handle
// returns: id, password_hash, pepper_id, token_version, roles
// mode: read
MATCH (u:User {handle_lower: toLower($handle)})
OPTIONAL MATCH (c:Credential {user_id: u.id})
RETURN u.id AS id, c.hash AS password_hash, c.pepper_id AS pepper_id,
       u.token_version AS token_version, coalesce(u.roles, []) AS roles
