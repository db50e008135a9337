// name: recent
// description: Feed candidates for a user, newest first (created_at desc, post id asc). Posts by friends (posted_by); with $include_fof, by friends of friends reached through friends of degree <= $hub_degree (posted_by_fof); with $include_interactions, posts friends liked or commented on (liked_by, commented_by). Never my own posts, never posts by users blocked either way; blocked friends contribute nothing. Only posts created strictly before $before (null: no bound). Keyset page after ($after_created_at: toString of the last created_at, $after_id); both null for the first page.
// params: $user_id, $include_fof, $include_interactions, $hub_degree, $before, $after_created_at, $after_id, $limit
// returns: items [{post {id, text, like_count, comment_count, created_at [epochMillis, nanosecond]}, created_key (toString(created_at), exact, for the cursor), author {id, handle, display_name}, reasons [{code, users [{id, handle, display_name}] (at most 3, by id)}]}] (one record, in page order)
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
  AND ($after_id IS NULL
       OR p.created_at < datetime($after_created_at)
       OR (p.created_at = datetime($after_created_at) AND p.id > $after_id))
// One row per post; reasons are only assembled for the page.
WITH p, author, collect({code: code, who: who}) AS hits
ORDER BY p.created_at DESC, p.id ASC
LIMIT $limit
UNWIND hits AS hit
WITH p, author, hit.code AS code, hit.who AS who
ORDER BY who.id
WITH p, author, code, collect(DISTINCT who {.id, .handle, .display_name})[0..3] AS users
WITH p, author, collect({code: code, users: users}) AS reasons
ORDER BY p.created_at DESC, p.id ASC
// One record holding the page, rows in this order: the Python driver's cost is per record
// and per DateTime value (~100 us each), so created_at comes as [epochMillis, nanosecond]
// (graph.db.Tx.page).
RETURN collect({
  post: p {.id, .text, .like_count, .comment_count,
           created_at: [p.created_at.epochMillis, p.created_at.nanosecond]},
  created_key: toString(p.created_at),
  author: author {.id, .handle, .display_name},
  reasons: reasons
}) AS items
