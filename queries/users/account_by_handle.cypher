// name: account_by_handle
// description: Operator-only (socialgraph user ...): one account by handle (case-insensitive), whether or not it is discoverable, with whether it has a password (a :Credential with a hash); never the hash itself.
// params: $handle
// returns: user {id, handle, display_name, source, created_at, roles, has_password}
// mode: read
MATCH (u:User {handle_lower: toLower($handle)})
RETURN u {.id, .handle, .display_name, .source, .created_at,
          roles: coalesce(u.roles, []),
          has_password: EXISTS { MATCH (c:Credential {user_id: u.id}) WHERE c.hash IS NOT NULL }} AS user
