// name: 010_user_created_at
// description: Growth queries and pagination by creation time.
// params: none
// returns: nothing
// mode: schema
CREATE INDEX user_created_at IF NOT EXISTS FOR (u:User) ON (u.created_at)
