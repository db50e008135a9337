// name: 005_friends_pair_unique
// description: A friendship is stored once per pair: pair = '<smaller id>|<larger id>'.
// params: none
// returns: nothing
// mode: schema
CREATE CONSTRAINT friends_pair_unique IF NOT EXISTS FOR ()-[f:FRIENDS]-() REQUIRE f.pair IS UNIQUE
