// name: open_inboxes
// description: Recipients of the message benchmark accept messages from anyone (idempotent).
// params: $ids
// returns: n
// mode: write
UNWIND $ids AS id
MATCH (u:User {id: id})
SET u.who_can_message = 'everyone'
RETURN count(u) AS n
