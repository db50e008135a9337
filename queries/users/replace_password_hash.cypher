// name: replace_password_hash
// description: Rehash at login (new pepper key or Argon2 parameters): replace the stored hash only if it is still the one just verified ($old_hash), so a concurrent password change is never undone. Idempotent.
// params: $id, $old_hash, $password_hash, $pepper_id
// returns: n
// mode: write
MATCH (c:Credential {user_id: $id})
WHERE c.hash = $old_hash
SET c.hash = $password_hash, c.pepper_id = $pepper_id
RETURN count(c) AS n
