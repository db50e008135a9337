// name: popular_ids
// description: The $n discoverable users with the most friends (ties by id): the candidate pool of the cold-start list's "popular" tier. Reads every user's degree, so it is computed once and cached (api/services.py), not per request.
// params: $n
// returns: id
// mode: read
MATCH (c:User)
WHERE coalesce(c.discoverable, true)
WITH c, COUNT { (c)-[:FRIENDS]-() } AS degree
ORDER BY degree DESC, c.id ASC
LIMIT $n
RETURN c.id AS id
