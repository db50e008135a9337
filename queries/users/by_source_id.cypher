// name: by_source_id
// description: A user loaded from a public data set, found by the data set's own node id (index user_source_id). source_id is text, as the loaders store it.
// params: $source, $source_id
// returns: user {id, handle, display_name, source, source_id, created_at}
// mode: read
MATCH (u:User {source: $source, source_id: $source_id})
RETURN u {.id, .handle, .display_name, .source, .source_id, .created_at} AS user
