// name: upsert_requests
// description: Bulk friend requests from rows {from_id, to_id, status, created_at}: one REQUESTED per ordered pair (key = from|to). A new request gets the row's status and times; an existing one is left as it is (a re-run does not re-open what the API answered). Idempotent.
// params: $rows
// returns: n
// mode: write
UNWIND $rows AS row
WITH row WHERE row.from_id <> row.to_id
MATCH (a:User {id: row.from_id})
MATCH (b:User {id: row.to_id})
MERGE (a)-[r:REQUESTED {key: row.from_id + '|' + row.to_id}]->(b)
ON CREATE SET r.status = row.status,
              r.created_at = coalesce(row.created_at, datetime()),
              r.updated_at = coalesce(row.created_at, datetime())
RETURN count(*) AS n
