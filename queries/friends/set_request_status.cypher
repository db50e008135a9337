// name: set_request_status
// description: Move the pending request $from -> $to to $status (accepted, declined, cancelled). No row if there is no pending request.
// params: $from, $to, $status
// returns: request
// mode: write
MATCH (a:User {id: $from})-[r:REQUESTED {key: $from + '|' + $to}]->(b:User {id: $to})
WHERE r.status = 'pending'
SET r.status = $status, r.updated_at = datetime()
RETURN {from_id: a.id, to_id: b.id, status: r.status, created_at: r.created_at} AS request
