// name: upsert_users
// description: Bulk-create or update users from rows {id, handle, display_name, bio, created_at, discoverable, who_can_message, source, source_id}. Idempotent (MERGE on id).
// params: $rows
// returns: n
// mode: write
UNWIND $rows AS row
MERGE (u:User {id: row.id})
ON CREATE SET u.created_at = coalesce(row.created_at, datetime()),
              u.token_version = 0, u.roles = []
SET u.handle = row.handle,
    u.handle_lower = toLower(row.handle),
    u.display_name = coalesce(row.display_name, row.handle),
    u.bio = coalesce(row.bio, ''),
    u.discoverable = coalesce(row.discoverable, true),
    u.who_can_message = coalesce(row.who_can_message, 'friends'),
    u.source = row.source,
    u.source_id = row.source_id
RETURN count(*) AS n
