// name: lock_pair
// description: Take write locks on both users in id order, then report everything a friendship operation decides on. Holding both locks serialises every operation on the pair, so 50 concurrent requests/accepts cannot make two friendships.
// params: $me, $other
// returns: me_exists, other_exists, i_blocked, they_blocked, friends, pending_out, pending_in
// mode: write
OPTIONAL MATCH (lo:User {id: CASE WHEN $me < $other THEN $me ELSE $other END})
SET lo._lock = true
WITH lo
OPTIONAL MATCH (hi:User {id: CASE WHEN $me < $other THEN $other ELSE $me END})
SET hi._lock = true
REMOVE lo._lock, hi._lock
WITH CASE WHEN lo.id = $me THEN lo ELSE hi END AS m,
     CASE WHEN lo.id = $me THEN hi ELSE lo END AS o
RETURN m IS NOT NULL AS me_exists,
       o IS NOT NULL AS other_exists,
       m IS NOT NULL AND o IS NOT NULL AND EXISTS { (m)-[:BLOCKED]->(o) } AS i_blocked,
       m IS NOT NULL AND o IS NOT NULL AND EXISTS { (o)-[:BLOCKED]->(m) } AS they_blocked,
       m IS NOT NULL AND o IS NOT NULL AND EXISTS { (m)-[:FRIENDS]-(o) } AS friends,
       m IS NOT NULL AND o IS NOT NULL AND EXISTS { (m)-[:REQUESTED {status: 'pending'}]->(o) } AS pending_out,
       m IS NOT NULL AND o IS NOT NULL AND EXISTS { (o)-[:REQUESTED {status: 'pending'}]->(m) } AS pending_in
