// name: 004_comment_id_unique
// description: Every comment has one unique id.
// params: none
// returns: nothing
// mode: schema
CREATE CONSTRAINT comment_id_unique IF NOT EXISTS FOR (c:Comment) REQUIRE c.id IS UNIQUE
