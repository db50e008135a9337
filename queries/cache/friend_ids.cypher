// name: friend_ids
// description: The friends of a few users (for cache invalidation after a change that affects them and their friends), capped.
// params: $ids, $cap
// returns: id
// mode: read
UNWIND $ids AS uid
MATCH (:User {id: uid})-[:FRIENDS]-(f:User)
WITH DISTINCT f.id AS id
LIMIT $cap
RETURN id
