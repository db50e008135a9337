// name: 012_move_password_hashes_off_users
// description: Data migration for graphs from before :Credential: move each :User's password_hash to its :Credential (pepper_id null: a hash of the bare password, rehashed with the current pepper at the next login). Idempotent: nothing to do once no user holds one.
// params: none
// returns: nothing
// mode: schema
MATCH (u:User) WHERE u.password_hash IS NOT NULL
CALL (u) {
  MERGE (c:Credential {user_id: u.id})
  ON CREATE SET c.hash = u.password_hash, c.pepper_id = null
  REMOVE u.password_hash
} IN TRANSACTIONS OF 1000 ROWS
