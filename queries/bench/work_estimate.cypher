// name: work_estimate
// description: The work candidate generation does for a user: friends, and the sum of their degrees.
// params: $user_id, $hub_degree
// returns: degree, friend_degree_sum, max_friend_degree, expanded
// mode: read
MATCH (me:User {id: $user_id})-[:FRIENDS]-(f:User)
WITH me, f, COUNT { (f)-[:FRIENDS]-() } AS df
RETURN count(f) AS degree, sum(df) AS friend_degree_sum, max(df) AS max_friend_degree,
       sum(CASE WHEN df <= $hub_degree THEN df ELSE 0 END) AS expanded
