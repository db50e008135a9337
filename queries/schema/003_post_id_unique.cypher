// name: 003_post_id_unique
// description: Every post has one unique id.
// params: none
// returns: nothing
// mode: schema
CREATE CONSTRAINT post_id_unique IF NOT EXISTS FOR (p:Post) REQUIRE p.id IS UNIQUE
