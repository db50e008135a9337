// name: most_liked_posts
// description: Posts with the most likes (stored like_count), with author handle and comment count.
// params: $limit
// returns: post_id, author_handle, like_count, comment_count, created_at, text
// mode: read
MATCH (a:User)-[:POSTED]->(p:Post)
RETURN p.id AS post_id, a.handle AS author_handle, p.like_count AS like_count,
       p.comment_count AS comment_count, p.created_at AS created_at, p.text AS text
ORDER BY like_count DESC, post_id ASC
LIMIT $limit
