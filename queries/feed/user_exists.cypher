// name: user_exists
// description: One row if the user exists, none otherwise.
// params: $user_id
// returns: id
// mode: read
MATCH (me:User {id: $user_id})
RETURN me.id AS id
