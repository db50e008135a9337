// name: upsert_posts
// description: Bulk-create posts from rows {id, author_id, text, created_at, source, source_id}. Idempotent (MERGE on id); counts start at 0.
// params: $rows
// returns: n
// mode: write
UNWIND $rows AS row
MATCH (u:User {id: row.author_id})
MERGE (p:Post {id: row.id})
ON CREATE SET p.like_count = 0, p.comment_count = 0
SET p.text = row.text, p.created_at = row.created_at,
    p.source = row.source, p.source_id = row.source_id
MERGE (u)-[:POSTED]->(p)
RETURN count(*) AS n
