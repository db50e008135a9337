// name: upsert_users_packed
// description: upsert_users for packed batches (records split on U+001E, fields on U+001F): id, handle, display_name, bio, created_at (epoch ms), source, source_id. Idempotent (MERGE on id); created_at, roles, token_version, discoverable and who_can_message keep their values on re-runs (new users: true, friends).
// params: $packed
// returns: n
// mode: write
UNWIND split($packed, '\u001E') AS record
WITH split(record, '\u001F') AS f
MERGE (u:User {id: f[0]})
ON CREATE SET u.created_at = datetime({epochMillis: toInteger(f[4])}),
              u.token_version = 0, u.roles = []
SET u.handle = f[1],
    u.handle_lower = toLower(f[1]),
    u.display_name = f[2],
    u.bio = f[3],
    u.discoverable = coalesce(u.discoverable, true),
    u.who_can_message = coalesce(u.who_can_message, 'friends'),
    u.source = f[5],
    u.source_id = f[6]
RETURN count(*) AS n
