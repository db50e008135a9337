// name: graph_summary
// description: Size of the graph: users, friendships, posts, comments, likes, pending friend requests, average friendship degree and density. Counts come from Neo4j's count store.
// params: none
// returns: users, friendships, posts, comments, likes, pending_requests, avg_degree, density
// mode: read
CALL () { MATCH (u:User) RETURN count(u) AS users }
CALL () { MATCH ()-[f:FRIENDS]->() RETURN count(f) AS friendships }
CALL () { MATCH (p:Post) RETURN count(p) AS posts }
CALL () { MATCH (c:Comment) RETURN count(c) AS comments }
CALL () { MATCH ()-[l:LIKED]->() RETURN count(l) AS likes }
CALL () { MATCH ()-[r:REQUESTED]->() WHERE r.status = 'pending' RETURN count(r) AS pending_requests }
RETURN users, friendships, posts, comments, likes, pending_requests,
       CASE WHEN users = 0 THEN 0.0 ELSE 2.0 * friendships / users END AS avg_degree,
       CASE WHEN users < 2 THEN 0.0 ELSE 2.0 * friendships / (users * (users - 1.0)) END AS density
