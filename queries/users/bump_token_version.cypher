// name: bump_token_version
// description: Revoke every token of a user (logout everywhere): tokens carry the version they were issued at.
// params: $id
// returns: token_version
// mode: write
MATCH (u:User {id: $id})
SET u.token_version = coalesce(u.token_version, 0) + 1
RETURN u.token_version AS token_version
