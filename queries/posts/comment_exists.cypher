// name: comment_exists
// description: Whether a comment exists on a post (to tell 404 from 403 on delete).
// params: $post_id, $id
// returns: exists
// mode: read
RETURN EXISTS { (:Comment {id: $id})-[:ON]->(:Post {id: $post_id}) } AS exists
