// name: jaccard
// description: Friend suggestions ranked by Jaccard, size of the neighbourhood intersection over size of the union, m / (deg me + deg c - m) for m mutual friends. Candidates are reached only through friends of degree <= $hub_degree (the hub cap); scores are exact over the whole FRIENDS graph. Keyset page after ($after_score, $after_id); both null for the first page.
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
WITH me, size(friends) AS friends_of_me, c, m.z AS z, m.d AS dz
// Ordering by z.id fixes the summation order, so the float score is bit-identical on
// every call (the keyset comparison relies on it), and fixes which mutuals are named.
ORDER BY z.id
WITH me, friends_of_me, c, collect(z) AS mutuals
WITH me, c, mutuals, size(mutuals) AS m, friends_of_me
WITH me, c, mutuals,
     toFloat(m) / (friends_of_me + COUNT { (c)-[:FRIENDS]-() } - m) AS score
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
