// name: 001_user_id_unique
// description: Every user has one unique id.
// params: none
// returns: nothing
// mode: schema
CREATE CONSTRAINT user_id_unique IF NOT EXISTS FOR (u:User) REQUIRE u.id IS UNIQUE
