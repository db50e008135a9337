// name: set_credentials
// description: Seeds only: set the Argon2id password hash and the roles of existing users from rows {id, password_hash, roles}, so demo users can log in. Idempotent.
// params: $rows
// returns: n
// mode: write
UNWIND $rows AS row
MATCH (u:User {id: row.id})
SET u.password_hash = row.password_hash, u.roles = row.roles
RETURN count(*) AS n
