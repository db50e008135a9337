// name: 011_credential_user_unique
// description: Password hashes live on :Credential nodes, one per user, found by user_id; they have no relationships, so no traversal from the social graph reaches them (graph/adhoc.py refuses plans that name the label or scan every node).
// params: none
// returns: nothing
// mode: schema
CREATE CONSTRAINT credential_user_unique IF NOT EXISTS FOR (c:Credential) REQUIRE c.user_id IS UNIQUE
