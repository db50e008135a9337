// name: change_role
// description: Operator-only (CLI): add one role to a user, or take it away with $revoke, in one write transaction. Roles stay sorted and unique.
// params: $handle, $role, $revoke
// returns: id, roles
// mode: write
MATCH (u:User {handle_lower: toLower($handle)})
// Lock the user before reading the roles. Under read-committed a plain read takes no
// lock, so two concurrent changes could both start from the same list and one would be
// lost. A SET whose value reads the same property takes the write lock before the read.
SET u.roles = coalesce(u.roles, [])
WITH u
CALL (u) {
  UNWIND [r IN u.roles WHERE r <> $role] + CASE WHEN $revoke THEN [] ELSE [$role] END AS r
  WITH DISTINCT r
  ORDER BY r
  RETURN collect(r) AS roles
}
SET u.roles = roles
RETURN u.id AS id, u.roles AS roles
