// name: create_users_packed
// description: Fast path for an empty graph (seed --reset): CREATE users from one packed string per batch (records split on U+001E, fields on U+001F): id, handle, display_name, bio, created_at (epoch ms), source, source_id. Same properties as upsert_users; the unique constraints reject a duplicate.
// params: $packed
// returns: n
// mode: write
UNWIND split($packed, '\u001E') AS record
WITH split(record, '\u001F') AS f
CREATE (u:User {id: f[0], handle: f[1], handle_lower: toLower(f[1]), display_name: f[2], bio: f[3],
                created_at: datetime({epochMillis: toInteger(f[4])}), discoverable: true,
                who_can_message: 'friends', token_version: 0, roles: [],
                source: f[5], source_id: f[6]})
RETURN count(*) AS n
