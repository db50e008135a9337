// name: author_of
// description: Who wrote a post (for ownership checks); no row if the post does not exist.
// params: $id
// returns: author_id
// mode: read
MATCH (a:User)-[:POSTED]->(:Post {id: $id})
RETURN a.id AS author_id
