// name: create
// description: Register a user. The unique constraints on id and handle_lower turn a taken handle into a ConstraintError (409).
// params: $id, $handle, $display_name, $bio, $password_hash
// returns: user
// mode: write
CREATE (u:User {
  id: $id, handle: $handle, handle_lower: toLower($handle), display_name: $display_name,
  bio: $bio, password_hash: $password_hash, created_at: datetime(),
  discoverable: true, who_can_message: 'friends', roles: [], token_version: 0
})
RETURN u {.id, .handle, .display_name, .bio, .created_at, .discoverable, .who_can_message, .roles} AS user
