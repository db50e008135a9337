// name: list_by_user
// description: Posts by $author_id, newest first, keyset-paginated on (created_at desc, id asc).
// params: $viewer_id, $author_id, $after_at, $after_id, $limit
// returns: post
// mode: read
MATCH (v:User {id: $viewer_id})
MATCH (a:User {id: $author_id})-[:POSTED]->(p:Post)
WHERE NOT EXISTS { (v)-[:BLOCKED]-(a) }
  AND ($after_at IS NULL OR p.created_at < datetime($after_at)
       OR (p.created_at = datetime($after_at) AND p.id > $after_id))
RETURN p {.id, .text, .created_at, .like_count, .comment_count,
          author: a {.id, .handle, .display_name},
          liked_by_me: EXISTS { (v)-[:LIKED]->(p) }} AS post
ORDER BY p.created_at DESC, p.id ASC
LIMIT $limit
