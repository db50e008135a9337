// name: create
// description: I publish a post.
// params: $me, $id, $text
// returns: post
// mode: write
MATCH (u:User {id: $me})
CREATE (u)-[:POSTED]->(p:Post {id: $id, text: $text, created_at: datetime(), like_count: 0, comment_count: 0})
RETURN p {.id, .text, .created_at, .like_count, .comment_count,
          author: u {.id, .handle, .display_name}, liked_by_me: false} AS post
