// name: set_password
// description: Operator-only (socialgraph user set-password): store a new password hash on the user's :Credential (created for users loaded from data sets, which have none) and bump the token version in the same transaction, so every token issued before is revoked. Removes a legacy hash left on :User.
// params: $id, $password_hash, $pepper_id
// returns: token_version
// mode: write
MATCH (u:User {id: $id})
SET u.token_version = coalesce(u.token_version, 0) + 1
REMOVE u.password_hash
MERGE (c:Credential {user_id: u.id})
SET c.hash = $password_hash, c.pepper_id = $pepper_id
RETURN u.token_version AS token_version
