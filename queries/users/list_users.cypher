// name: list_users
// description: Directory search: discoverable users (a missing `discoverable` counts as true, as for suggestions) whose handle starts with $prefix (case-insensitive), visible to the viewer, keyset-paginated by handle_lower. Exact lookups by handle or id are not filtered (docs/hardening.md).
// params: $viewer_id, $prefix, $after, $limit
// returns: user, key
// mode: read
MATCH (v:User {id: $viewer_id})
MATCH (u:User)
WHERE u.handle_lower STARTS WITH toLower($prefix) AND u.handle_lower > $after
  AND coalesce(u.discoverable, true)
  AND NOT EXISTS { (v)-[:BLOCKED]-(u) }
RETURN u {.id, .handle, .display_name} AS user, u.handle_lower AS key
ORDER BY u.handle_lower
LIMIT $limit
