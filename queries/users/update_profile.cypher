// name: update_profile
// description: Update my profile and privacy settings. Null values leave a field unchanged (the API model forbids other keys).
// params: $id, $display_name, $bio, $discoverable, $who_can_message
// returns: id
// mode: write
MATCH (u:User {id: $id})
SET u.display_name = coalesce($display_name, u.display_name),
    u.bio = coalesce($bio, u.bio),
    u.discoverable = coalesce($discoverable, u.discoverable),
    u.who_can_message = coalesce($who_can_message, u.who_can_message)
RETURN u.id AS id
