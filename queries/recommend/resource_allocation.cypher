// name: resource_allocation
// description: Friend suggestions ranked by resource allocation, sum of 1/deg z over mutual friends z. Candidates are reached only through friends of degree <= $hub_degree (the hub cap); scores are exact over the whole FRIENDS graph. Keyset page after ($after_score, $after_id); both null for the first page.
// params: $user_id, $hub_degree, $after_score, $after_id, $limit
// returns: user {id, handle, display_name}, score, mutual_count, mutual_friends [{id, handle, display_name}] (at most 3, none blocked either way with me)
// mode: read
MATCH (me:User {id: $user_id})
// Users excluded by my own relationships, gathered once (usually a handful): a pattern
// check per candidate would re-scan my possibly dense relationship chains each time.
CALL (me) {
  OPTIONAL MATCH (me)-[r:BLOCKED|REQUESTED|DISMISSED]-(x:User)
  WHERE r:BLOCKED
     OR (r:REQUESTED AND r.status = 'pending')
     OR (r:DISMISSED AND startNode(r) = me)
  RETURN collect(DISTINCT x) AS excluded
}
CALL (me, excluded) {
  // Candidate generation: friends of friends, through non-hub friends only.
  MATCH (me)-[:FRIENDS]-(f:User)
  WHERE COUNT { (f)-[:FRIENDS]-() } <= $hub_degree
  MATCH (f)-[:FRIENDS]-(c:User)
  // Deduplicate before the checks: a candidate is reached once per mutual friend.
  WITH DISTINCT me, excluded, c
  WHERE c <> me
    AND coalesce(c.discoverable, true)
    AND NOT c IN excluded
    AND NOT EXISTS { (me)-[:FRIENDS]-(c) }
  RETURN c
}
// Scoring: every mutual friend counts, hubs included, so the score is textbook.
MATCH (me)-[:FRIENDS]-(z:User)-[:FRIENDS]-(c)
WITH me, c, z, COUNT { (z)-[:FRIENDS]-() } AS dz
// Ordering by z.id fixes the summation order, so the float score is bit-identical on
// every call (the keyset comparison relies on it), and fixes which mutuals are named.
ORDER BY z.id
WITH me, c, collect(z) AS mutuals, collect(dz) AS degrees
WITH me, c, mutuals, reduce(s = 0.0, d IN degrees | s + 1.0 / d) AS score
WHERE $after_id IS NULL OR score < $after_score OR (score = $after_score AND c.id > $after_id)
ORDER BY score DESC, c.id ASC
LIMIT $limit
RETURN c {.id, .handle, .display_name} AS user, score, size(mutuals) AS mutual_count,
       [m IN mutuals WHERE NOT EXISTS { (me)-[:BLOCKED]-(m) } | m {.id, .handle, .display_name}][0..3]
         AS mutual_friends
