// name: 007_user_source_id
// description: Look up users loaded from a public data set by the data set's own id.
// params: none
// returns: nothing
// mode: schema
CREATE INDEX user_source_id IF NOT EXISTS FOR (u:User) ON (u.source, u.source_id)
