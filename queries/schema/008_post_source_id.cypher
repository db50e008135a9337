// name: 008_post_source_id
// description: Look up posts loaded from a public data set by the data set's own id.
// params: none
// returns: nothing
// mode: schema
CREATE INDEX post_source_id IF NOT EXISTS FOR (p:Post) ON (p.source, p.source_id)
