// name: resource_allocation
// description: Friend suggestions ranked by resource allocation, sum of 1/deg z over mutual friends z. Candidates are reached only through friends of degree <= $hub_degree (the hub cap); scores are exact over the whole FRIENDS graph. Keyset page after ($after_score, $after_id); both null for the first page.
// params: $user_id, $hub_degree, $after_score, $after_id, $limit
// returns: items [{user {id, handle, display_name}, score, mutual_count, mutual_friends [{id, handle, display_name}] (at most 3, none blocked either way with me)}] (one record, in page order)
// mode: read
MATCH (me:User {id: $user_id})
// Users excluded by my own relationships, gathered once (usually a handful).
CALL (me) {
  OPTIONAL MATCH (me)-[r:BLOCKED|REQUESTED|DISMISSED]-(x:User)
  WHERE r:BLOCKED
     OR (r:REQUESTED AND r.status = 'pending')
     OR (r:DISMISSED AND startNode(r) = me)
  RETURN collect(DISTINCT x) AS excluded
}
// My friends once, with their degrees (degree store), split at the hub cap.
CALL (me) {
  OPTIONAL MATCH (me)-[:FRIENDS]-(z:User)
  WITH z, COUNT { (z)-[:FRIENDS]-() } AS dz
  RETURN collect(z) AS friends,
         collect(CASE WHEN dz <= $hub_degree THEN {z: z, d: dz} END) AS small,
         collect(CASE WHEN dz > $hub_degree THEN {z: z, d: dz} END) AS hubs
}
// One expansion from my side through non-hub friends: each (z, c) row is a mutual friend
// z of candidate c, so generating candidates also finds these mutuals. (Expanding from
// the candidates' side instead would walk every candidate's whole friend list.)
CALL (me, small) {
  UNWIND small AS s
  WITH me, s.z AS z, s.d AS dz
  MATCH (z)-[:FRIENDS]-(c:User)
  WHERE c <> me
  RETURN c, collect({z: z, d: dz}) AS via
}
WITH me, excluded, friends, hubs, c, via
WHERE coalesce(c.discoverable, true)
  AND NOT c IN excluded
  AND NOT c IN friends
// Pruning before the hub tests, which cost the most: hub mutuals only add to a score,
// and at most hub_max (every hub a mutual). `low` (non-hub mutuals only) bounds the
// score from below, `low + hub_max` from above. A candidate whose upper bound is below
// the $limit-th best lower bound among candidates surely on this page cannot make the
// page, nor can one whose lower bound is above the cursor's score; neither is tested.
// The 1e-9 margins cover float summation order (its error is far below that here).
WITH me, hubs, c, via,
     reduce(s = 0.0, m IN via | s + 1.0 / m.d) AS low,
     reduce(s = 0.0, h IN hubs | s + 1.0 / h.d) AS hub_max
WITH me, hubs, collect({c: c, via: via, low: low, high: low + hub_max}) AS cands
CALL (cands) {
  UNWIND cands AS x
  WITH x
  WHERE $after_id IS NULL OR x.high + 1e-9 < $after_score
  WITH x.low AS low
  ORDER BY low DESC
  RETURN collect(low) AS lows
}
WITH me, hubs, cands,
     CASE WHEN size(lows) >= $limit THEN lows[$limit - 1] - 1e-9 ELSE -1.0 END AS bar
UNWIND cands AS x
WITH me, hubs, x
WHERE x.high + 1e-9 >= bar AND ($after_id IS NULL OR x.low - 1e-9 <= $after_score)
WITH me, hubs, x.c AS c, x.via AS via
// Hub friends were not expanded: test each one's friendship with the candidate instead,
// so every mutual friend counts and the score stays textbook. The test is a seek on the
// unique pair key ('<smaller id>|<larger id>'), not an expansion of either user.
CALL (c, hubs) {
  UNWIND hubs AS h
  WITH c, h, h.z.id AS hid, c.id AS cid
  WITH h, CASE WHEN hid < cid THEN hid + '|' + cid ELSE cid + '|' + hid END AS pair
  WHERE EXISTS { MATCH ()-[:FRIENDS {pair: pair}]->() }
  RETURN collect(h) AS via_hubs
}
UNWIND via + via_hubs AS m
WITH me, c, m.z AS z, m.d AS dz
// Ordering by z.id fixes the summation order, so the float score is bit-identical on
// every call (the keyset comparison relies on it), and fixes which mutuals are named.
ORDER BY z.id
WITH me, c, collect(z) AS mutuals, collect(dz) AS degrees
WITH me, c, mutuals, reduce(s = 0.0, d IN degrees | s + 1.0 / d) AS score
WHERE $after_id IS NULL OR score < $after_score OR (score = $after_score AND c.id > $after_id)
ORDER BY score DESC, c.id ASC
LIMIT $limit
// One record holding the page (rows stay in this order): the Python driver's cost is per
// record, about 2.6 ms of client CPU for 21 rows as separate records.
RETURN collect({
  user: c {.id, .handle, .display_name},
  score: score,
  mutual_count: size(mutuals),
  mutual_friends:
    [m IN mutuals WHERE NOT EXISTS { (me)-[:BLOCKED]-(m) } | m {.id, .handle, .display_name}][0..3]
}) AS items
