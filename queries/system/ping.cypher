// name: ping
// description: Cheapest round trip that proves the database answers queries.
// params: none
// returns: ok
// mode: read
RETURN 1 AS ok
