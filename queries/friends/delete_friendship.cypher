// name: delete_friendship
// description: Unfriend: delete the pair's FRIENDS relationship; returns how many were removed (0 or 1).
// params: $a, $b
// returns: removed
// mode: write
MATCH (:User {id: $a})-[f:FRIENDS]-(:User {id: $b})
DELETE f
RETURN count(*) AS removed
