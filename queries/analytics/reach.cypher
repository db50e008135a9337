// name: reach
// description: How far a user reaches: friends (distance 1) and friends of friends who are not already friends (distance 2).
// params: $user_id
// returns: user_id, handle, friends, friends_of_friends
// mode: read
MATCH (u:User {id: $user_id})
WITH u, COLLECT { MATCH (u)-[:FRIENDS]-(f:User) RETURN DISTINCT f } AS friends
RETURN u.id AS user_id, u.handle AS handle, size(friends) AS friends,
       COUNT {
         MATCH (u)-[:FRIENDS]-(:User)-[:FRIENDS]-(fof:User)
         WHERE fof <> u AND NOT fof IN friends
         RETURN DISTINCT fof
       } AS friends_of_friends
