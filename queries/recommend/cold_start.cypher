// name: cold_start
// description: Suggestions for a user without friends. Tier 0: users with a pending request to me (reason requested_you); tier 1: the users in $popular_ids (the most-friended users, from popular_ids), most friends first (reason popular). Same exclusions as the ranked lists. Score is the candidate's degree now. Keyset page after ($after_tier, $after_score, $after_id); all null for the first page.
// params: $user_id, $popular_ids, $after_tier, $after_score, $after_id, $limit
// returns: items [{user {id, handle, display_name}, score, tier, reason}] (one record, in page order)
// mode: read
MATCH (me:User {id: $user_id})
CALL (me) {
  MATCH (c:User)-[:REQUESTED {status: 'pending'}]->(me)
  RETURN c, 0 AS tier, 'requested_you' AS reason
  UNION
  // Requesters are tier 0 and requests I sent exclude a user, so tier 1 skips both.
  UNWIND $popular_ids AS pid
  MATCH (c:User {id: pid})
  WHERE NOT EXISTS { (me)-[:REQUESTED {status: 'pending'}]-(c) }
  RETURN c, 1 AS tier, 'popular' AS reason
}
WITH me, c, tier, reason
WHERE c <> me
  AND coalesce(c.discoverable, true)
  AND NOT EXISTS { (me)-[:FRIENDS]-(c) }
  AND NOT EXISTS { (me)-[:REQUESTED {status: 'pending'}]->(c) }
  AND NOT EXISTS { (me)-[:BLOCKED]-(c) }
  AND NOT EXISTS { (me)-[:DISMISSED]->(c) }
WITH c, tier, reason, toFloat(COUNT { (c)-[:FRIENDS]-() }) AS score
WHERE $after_id IS NULL
   OR tier > $after_tier
   OR (tier = $after_tier AND (score < $after_score OR (score = $after_score AND c.id > $after_id)))
ORDER BY tier ASC, score DESC, c.id ASC
LIMIT $limit
// One record holding the page, in order (the driver's cost is per record).
RETURN collect({user: c {.id, .handle, .display_name}, score: score, tier: tier, reason: reason})
  AS items
