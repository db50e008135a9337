// name: top
// description: Feed candidates for a user, best first (score desc, post id asc), score = 0.5^(max(0, age hours at $now) / $half_life_hours) * (1 + weight of my INTERACTS to the author) * (1 + ln(1 + like_count + 2 * comment_count)). Posts by friends (posted_by); with $include_fof, by friends of friends reached through friends of degree <= $hub_degree (posted_by_fof); with $include_interactions, posts friends liked or commented on (liked_by, commented_by). Never my own posts, never posts by users blocked either way; blocked friends contribute nothing. Only posts created strictly before $before (null: no bound). Keyset page after ($after_score, $after_id); both null for the first page; $now stays fixed across the pages of one walk.
// params: $user_id, $include_fof, $include_interactions, $hub_degree, $before, $now, $half_life_hours, $after_score, $after_id, $limit
// returns: items [{post {id, text, like_count, comment_count, created_at [epochMillis, nanosecond]}, score, author {id, handle, display_name}, reasons [{code, users [{id, handle, display_name}] (at most 3, by id)}]}] (one record, in page order)
// mode: read
MATCH (me:User {id: $user_id})
// Users blocked either way, gathered once (usually a handful): a pattern check per post
// would re-scan my possibly dense relationship chains for every row.
CALL (me) {
  OPTIONAL MATCH (me)-[:BLOCKED]-(b:User)
  RETURN collect(DISTINCT b) AS blocked
}
CALL (me, blocked) {
  OPTIONAL MATCH (me)-[:FRIENDS]-(f:User)
  WHERE NOT f IN blocked
  RETURN collect(f) AS friends
}
CALL (me, friends) {
  UNWIND friends AS f
  MATCH (f)-[:POSTED]->(p:Post)
  RETURN p, f AS author, 'posted_by' AS code, f AS who
  UNION ALL
  UNWIND CASE WHEN $include_fof THEN friends ELSE [] END AS f
  WITH me, f WHERE COUNT { (f)-[:FRIENDS]-() } <= $hub_degree
  MATCH (f)-[:FRIENDS]-(ff:User)
  WITH DISTINCT me, ff
  WHERE ff <> me AND NOT EXISTS { (me)-[:FRIENDS]-(ff) }
  MATCH (ff)-[:POSTED]->(p:Post)
  RETURN p, ff AS author, 'posted_by_fof' AS code, ff AS who
  UNION ALL
  UNWIND CASE WHEN $include_interactions THEN friends ELSE [] END AS f
  MATCH (f)-[:LIKED]->(p:Post)<-[:POSTED]-(author:User)
  RETURN p, author, 'liked_by' AS code, f AS who
  UNION ALL
  UNWIND CASE WHEN $include_interactions THEN friends ELSE [] END AS f
  MATCH (f)-[:COMMENTED]->(:Comment)-[:ON]->(p:Post)<-[:POSTED]-(author:User)
  RETURN p, author, 'commented_by' AS code, f AS who
}
WITH me, blocked, p, author, code, who
WHERE author <> me
  AND NOT author IN blocked
  AND p.created_at IS NOT NULL
  AND ($before IS NULL OR p.created_at < $before)
// One row per post; reasons are only assembled for the page.
WITH me, p, author, collect({code: code, who: who}) AS hits
// My affinity is looked up once per author, not once per post.
WITH me, author, collect({post: p, hits: hits}) AS by_author
WITH author, by_author, coalesce(head([(me)-[i:INTERACTS]->(author) | i.weight]), 0) AS affinity
UNWIND by_author AS entry
WITH entry.post AS p, entry.hits AS hits, author, affinity
WITH p, hits, author, affinity,
     ($now.epochMillis - p.created_at.epochMillis) / 3600000.0 AS age_hours,
     coalesce(p.like_count, 0) + 2 * coalesce(p.comment_count, 0) AS engagement
// Posts dated after $now (clock skew) are not boosted above fresh ones.
WITH p, hits, author,
     0.5 ^ (CASE WHEN age_hours > 0 THEN age_hours ELSE 0.0 END / $half_life_hours)
       * (1 + affinity) * (1 + log(1 + engagement)) AS score
WHERE $after_id IS NULL OR score < $after_score OR (score = $after_score AND p.id > $after_id)
ORDER BY score DESC, p.id ASC
LIMIT $limit
UNWIND hits AS hit
WITH p, author, score, hit.code AS code, hit.who AS who
ORDER BY who.id
WITH p, author, score, code, collect(DISTINCT who {.id, .handle, .display_name})[0..3] AS users
WITH p, author, score, collect({code: code, users: users}) AS reasons
ORDER BY score DESC, p.id ASC
// One record holding the page, rows in this order: the Python driver's cost is per record
// and per DateTime value (~100 us each), so created_at comes as [epochMillis, nanosecond]
// (graph.db.Tx.page).
RETURN collect({
  post: p {.id, .text, .like_count, .comment_count,
           created_at: [p.created_at.epochMillis, p.created_at.nanosecond]},
  score: score,
  author: author {.id, .handle, .display_name},
  reasons: reasons
}) AS items
