// name: 006_request_key_unique
// description: At most one friend request per ordered pair: key = '<from id>|<to id>'.
// params: none
// returns: nothing
// mode: schema
CREATE CONSTRAINT request_key_unique IF NOT EXISTS FOR ()-[r:REQUESTED]-() REQUIRE r.key IS UNIQUE
