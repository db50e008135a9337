// name: delete_comment
// description: Delete a comment that $me wrote, or any comment on a post that $me wrote (moderation of my own post). comment_count drops in the same transaction.
// params: $me, $post_id, $id
// returns: deleted
// mode: write
MATCH (w:User)-[:COMMENTED]->(c:Comment {id: $id})-[:ON]->(p:Post {id: $post_id})<-[:POSTED]-(a:User)
WHERE w.id = $me OR a.id = $me
SET p._lock = true
REMOVE p._lock
DETACH DELETE c
SET p.comment_count = p.comment_count - 1
RETURN count(*) AS deleted
