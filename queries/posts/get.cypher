// name: get
// description: A post as $viewer_id sees it; no row when it does not exist or its author and the viewer block each other.
// params: $viewer_id, $id
// returns: post
// mode: read
MATCH (v:User {id: $viewer_id})
MATCH (a:User)-[:POSTED]->(p:Post {id: $id})
WHERE NOT EXISTS { (v)-[:BLOCKED]-(a) }
RETURN p {.id, .text, .created_at, .like_count, .comment_count,
          author: a {.id, .handle, .display_name},
          liked_by_me: EXISTS { (v)-[:LIKED]->(p) }} AS post
