// name: set_roles
// description: Operator-only (CLI): replace a user's roles.
// params: $handle, $roles
// returns: id, roles
// mode: write
MATCH (u:User {handle_lower: toLower($handle)})
SET u.roles = $roles
RETURN u.id AS id, u.roles AS roles
