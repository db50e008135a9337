// name: list_by_user
// description: Posts by $author_id, newest first, keyset-paginated on (created_at desc, id asc).
// params: $viewer_id, $author_id, $after_at, $after_id, $limit
// returns: items [{post {id, text, like_count, comment_count, created_at [epochMillis, nanosecond], author, liked_by_me}}] (one record, in page order)
// mode: read
MATCH (v:User {id: $viewer_id})
MATCH (a:User {id: $author_id})-[:POSTED]->(p:Post)
WHERE NOT EXISTS { (v)-[:BLOCKED]-(a) }
  AND ($after_at IS NULL OR p.created_at < datetime($after_at)
       OR (p.created_at = datetime($after_at) AND p.id > $after_id))
WITH v, a, p
ORDER BY p.created_at DESC, p.id ASC
LIMIT $limit
// One record holding the page, rows in order; timestamps as [epochMillis, nanosecond]
// (the Python driver's cost is per record and per DateTime; graph.db.Graph.read_page).
RETURN collect({post: p {.id, .text, .like_count, .comment_count,
                        created_at: [p.created_at.epochMillis, p.created_at.nanosecond],
                        author: a {.id, .handle, .display_name},
                        liked_by_me: EXISTS { (v)-[:LIKED]->(p) }}}) AS items
