// name: list_comments
// description: Comments on a post, oldest first, keyset-paginated on (created_at asc, id asc); comments by users blocked either way with the viewer are hidden.
// params: $viewer_id, $post_id, $after_at, $after_id, $limit
// returns: items [{comment {id, text, post_id, author, created_at [epochMillis, nanosecond]}}] (one record, in page order)
// mode: read
MATCH (v:User {id: $viewer_id})
MATCH (w:User)-[:COMMENTED]->(c:Comment)-[:ON]->(p:Post {id: $post_id})
WHERE NOT EXISTS { (v)-[:BLOCKED]-(w) }
  AND ($after_at IS NULL OR c.created_at > datetime($after_at)
       OR (c.created_at = datetime($after_at) AND c.id > $after_id))
WITH c, p, w
ORDER BY c.created_at ASC, c.id ASC
LIMIT $limit
// One record holding the page, rows in order; timestamps as [epochMillis, nanosecond]
// (the Python driver's cost is per record and per DateTime; graph.db.Graph.read_page).
RETURN collect({comment: c {.id, .text, post_id: p.id, author: w {.id, .handle, .display_name},
                           created_at: [c.created_at.epochMillis, c.created_at.nanosecond]}})
  AS items
