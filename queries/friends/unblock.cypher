// name: unblock
// description: $me lifts its block on $other; returns how many blocks were removed (0 or 1).
// params: $me, $other
// returns: removed
// mode: write
MATCH (:User {id: $me})-[b:BLOCKED]->(:User {id: $other})
DELETE b
RETURN count(*) AS removed
