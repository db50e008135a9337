// name: delete_comment
// description: Delete a comment that $me wrote, or any comment on a post that $me wrote (moderation of my own post). comment_count drops in the same transaction. Locks the comment's author then the post (the order `comment` and `like` lock in) and only then matches the comment again: of concurrent deletes of one comment, the first deletes and decrements, the others find nothing (deleted 0) and change nothing.
// params: $me, $post_id, $id
// returns: deleted
// mode: write
MATCH (w:User)-[:COMMENTED]->(:Comment {id: $id})-[:ON]->(p:Post {id: $post_id})
SET w._lock = true
SET p._lock = true
REMOVE w._lock, p._lock
WITH w, p
MATCH (w)-[:COMMENTED]->(c:Comment {id: $id})-[:ON]->(p)<-[:POSTED]-(a:User)
WHERE w.id = $me OR a.id = $me
DETACH DELETE c
SET p.comment_count = p.comment_count - 1
RETURN count(*) AS deleted
