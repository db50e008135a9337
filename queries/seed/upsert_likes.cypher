// name: upsert_likes
// description: Bulk likes from rows {user_id, post_id, at}. A like that already exists changes nothing; new likes bump like_count and the liker's affinity to the author. Idempotent.
// params: $rows
// returns: n
// mode: write
UNWIND $rows AS row
MATCH (u:User {id: row.user_id})
MATCH (author:User)-[:POSTED]->(p:Post {id: row.post_id})
OPTIONAL MATCH (u)-[existing:LIKED]->(p)
WITH u, p, author, row WHERE existing IS NULL
CREATE (u)-[:LIKED {at: coalesce(row.at, datetime())}]->(p)
SET p.like_count = p.like_count + 1
WITH u, author, row WHERE u <> author
MERGE (u)-[i:INTERACTS]->(author)
ON CREATE SET i.weight = 0
SET i.weight = i.weight + 1, i.last_at = coalesce(row.at, datetime())
RETURN count(*) AS n
