// name: degree_stats
// description: Summary of the friendship degree over all users: mean, standard deviation, median, 90th and 99th percentiles, max, isolated users.
// params: none
// returns: users, mean, stdev, median, p90, p99, max, isolated
// mode: read
MATCH (u:User)
WITH COUNT { (u)-[:FRIENDS]-() } AS degree
RETURN count(*) AS users,
       avg(degree) AS mean,
       stDevP(degree) AS stdev,
       percentileDisc(degree, 0.5) AS median,
       percentileDisc(degree, 0.9) AS p90,
       percentileDisc(degree, 0.99) AS p99,
       max(degree) AS max,
       count(CASE WHEN degree = 0 THEN 1 END) AS isolated
