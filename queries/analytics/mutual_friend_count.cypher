// name: mutual_friend_count
// description: How many friends two users have in common. No row when either user does not exist.
// params: $user_id, $other_id
// returns: user_id, other_id, mutual_friends, are_friends
// mode: read
MATCH (a:User {id: $user_id}), (b:User {id: $other_id})
RETURN a.id AS user_id, b.id AS other_id,
       COUNT { (a)-[:FRIENDS]-(m:User)-[:FRIENDS]-(b) WHERE m <> a AND m <> b } AS mutual_friends,
       EXISTS { (a)-[:FRIENDS]-(b) } AS are_friends
