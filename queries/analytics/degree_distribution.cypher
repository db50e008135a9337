// name: degree_distribution
// description: How many users have each friendship degree (0 included), like networkx's degree_histogram.
// params: none
// returns: degree, users
// mode: read
MATCH (u:User)
WITH COUNT { (u)-[:FRIENDS]-() } AS degree
RETURN degree, count(*) AS users
ORDER BY degree
