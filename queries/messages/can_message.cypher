// name: can_message
// description: What decides whether $sender may message $recipient: existence, blocks either way, friendship, the recipient's who_can_message setting.
// params: $sender, $recipient
// returns: recipient_exists, i_blocked, they_blocked, friends, who_can_message
// mode: read
OPTIONAL MATCH (s:User {id: $sender})
OPTIONAL MATCH (r:User {id: $recipient})
RETURN r IS NOT NULL AS recipient_exists,
       s IS NOT NULL AND r IS NOT NULL AND EXISTS { (s)-[:BLOCKED]->(r) } AS i_blocked,
       s IS NOT NULL AND r IS NOT NULL AND EXISTS { (r)-[:BLOCKED]->(s) } AS they_blocked,
       s IS NOT NULL AND r IS NOT NULL AND EXISTS { (s)-[:FRIENDS]-(r) } AS friends,
       r.who_can_message AS who_can_message
