// name: delete_all
// description: Delete every node and relationship in batches (tests, `seed --reset`). Needs an auto-commit transaction.
// params: none
// returns: nothing
// mode: write
MATCH (n)
CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 1000 ROWS
