// name: users_page
// description: One page of users for export, keyset-paginated by id (the unique index orders it): users with id > $after, at most $limit. Start with $after = ''.
// params: $after, $limit
// returns: id, handle, display_name, created_at
// mode: read
MATCH (u:User)
WHERE u.id > $after
RETURN u.id AS id, u.handle AS handle, u.display_name AS display_name, u.created_at AS created_at
ORDER BY u.id
LIMIT $limit
