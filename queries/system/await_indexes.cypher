// name: await_indexes
// description: Wait until every index is online (after a migration), up to $seconds.
// params: $seconds
// returns: nothing
// mode: schema
CALL db.awaitIndexes($seconds)
