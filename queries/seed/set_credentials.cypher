// name: set_credentials
// description: Seeds only: set the password hash (core/passwords.py: peppered Argon2id, on the user's :Credential) and the roles of existing users from rows {id, password_hash, pepper_id, roles}, so demo users can log in. Idempotent.
// params: $rows
// returns: n
// mode: write
UNWIND $rows AS row
MATCH (u:User {id: row.id})
SET u.roles = row.roles
REMOVE u.password_hash
MERGE (c:Credential {user_id: u.id})
SET c.hash = row.password_hash, c.pepper_id = row.pepper_id
RETURN count(*) AS n
