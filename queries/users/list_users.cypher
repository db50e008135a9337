// name: list_users
// description: Directory search: users whose handle starts with $prefix (case-insensitive), visible to the viewer, keyset-paginated by handle_lower.
// params: $viewer_id, $prefix, $after, $limit
// returns: user, key
// mode: read
MATCH (v:User {id: $viewer_id})
MATCH (u:User)
WHERE u.handle_lower STARTS WITH toLower($prefix) AND u.handle_lower > $after
  AND NOT EXISTS { (v)-[:BLOCKED]-(u) }
RETURN u {.id, .handle, .display_name} AS user, u.handle_lower AS key
ORDER BY u.handle_lower
LIMIT $limit
