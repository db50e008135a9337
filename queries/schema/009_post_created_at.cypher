// name: 009_post_created_at
// description: Feeds order posts by creation time.
// params: none
// returns: nothing
// mode: schema
CREATE INDEX post_created_at IF NOT EXISTS FOR (p:Post) ON (p.created_at)
