// name: graph_counts
// description: What the graph holds, for the seed summaries: users, friendships, pending friend requests, posts, likes, comments (counts from the count store where possible).
// params: none
// returns: users, friendships, pending_requests, posts, likes, comments
// mode: read
CALL () { MATCH (u:User) RETURN count(u) AS users }
CALL () { MATCH ()-[f:FRIENDS]->() RETURN count(f) AS friendships }
CALL () { MATCH ()-[r:REQUESTED]->() WHERE r.status = 'pending' RETURN count(r) AS pending_requests }
CALL () { MATCH (p:Post) RETURN count(p) AS posts }
CALL () { MATCH ()-[l:LIKED]->() RETURN count(l) AS likes }
CALL () { MATCH (c:Comment) RETURN count(c) AS comments }
RETURN users, friendships, pending_requests, posts, likes, comments
