// name: accounts
// description: Operator-only (socialgraph user list): every account whose handle starts with $prefix (case-insensitive), discoverable or not, keyset-paginated by handle_lower (the unique constraint's index gives the order), with whether it has a password; never the hash itself.
// params: $prefix, $after, $limit
// returns: user {id, handle, display_name, source, created_at, roles, has_password}, key
// mode: read
MATCH (u:User)
WHERE u.handle_lower STARTS WITH toLower($prefix) AND u.handle_lower > $after
RETURN u {.id, .handle, .display_name, .source, .created_at,
          roles: coalesce(u.roles, []),
          has_password: EXISTS { MATCH (c:Credential {user_id: u.id}) WHERE c.hash IS NOT NULL }} AS user,
       u.handle_lower AS key
ORDER BY u.handle_lower
LIMIT $limit
