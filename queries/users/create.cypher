// name: create
// description: Register a user and their credential. The unique constraints on id and handle_lower turn a taken handle into a ConstraintError (409). The hash goes on a :Credential node (never on :User): see core/passwords.py.
// params: $id, $handle, $display_name, $bio, $password_hash, $pepper_id
// returns: user
// mode: write
CREATE (u:User {
  id: $id, handle: $handle, handle_lower: toLower($handle), display_name: $display_name,
  bio: $bio, created_at: datetime(),
  discoverable: true, who_can_message: 'friends', roles: [], token_version: 0
})
CREATE (:Credential {user_id: $id, hash: $password_hash, pepper_id: $pepper_id})
RETURN u {.id, .handle, .display_name, .bio, .created_at, .discoverable, .who_can_message, .roles} AS user
