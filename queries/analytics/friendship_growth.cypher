// name: friendship_growth
// description: Friendships created per period (from FRIENDS.since) with a running total. $unit is a date.truncate unit: 'day', 'week', 'month', 'quarter' or 'year' (CLI default 'day').
// params: $unit
// returns: period (date), created, cumulative
// mode: read
MATCH ()-[f:FRIENDS]->()
WHERE f.since IS NOT NULL
WITH date.truncate($unit, f.since) AS period, count(*) AS created
ORDER BY period
WITH collect({period: period, created: created}) AS periods
UNWIND range(0, size(periods) - 1) AS i
RETURN periods[i].period AS period, periods[i].created AS created,
       reduce(total = 0, p IN periods[0..i + 1] | total + p.created) AS cumulative
