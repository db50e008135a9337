// name: upsert_comments
// description: Bulk comments from rows {id, user_id, post_id, text, created_at, source, source_id}. New comments bump comment_count and affinity (+2). Idempotent (MERGE on id).
// params: $rows
// returns: n
// mode: write
UNWIND $rows AS row
MATCH (u:User {id: row.user_id})
MATCH (author:User)-[:POSTED]->(p:Post {id: row.post_id})
OPTIONAL MATCH (existing:Comment {id: row.id})
WITH u, p, author, row WHERE existing IS NULL
CREATE (u)-[:COMMENTED]->(c:Comment {id: row.id, text: row.text, created_at: row.created_at,
                                     source: row.source, source_id: row.source_id})-[:ON]->(p)
SET p.comment_count = p.comment_count + 1
WITH u, author, row WHERE u <> author
MERGE (u)-[i:INTERACTS]->(author)
ON CREATE SET i.weight = 0
SET i.weight = i.weight + 2, i.last_at = row.created_at
RETURN count(*) AS n
