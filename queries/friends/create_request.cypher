// name: create_request
// description: Create (or re-open) the friend request from $from to $to as pending. One relationship per ordered pair (key unique).
// params: $from, $to
// returns: request
// mode: write
MATCH (a:User {id: $from}), (b:User {id: $to})
MERGE (a)-[r:REQUESTED {key: $from + '|' + $to}]->(b)
SET r.status = 'pending', r.created_at = datetime(), r.updated_at = datetime()
RETURN {from_id: a.id, to_id: b.id, status: r.status, created_at: r.created_at} AS request
