// name: signup_growth
// description: Users created per period (from User.created_at) with a running total. $unit is a date.truncate unit: 'day', 'week', 'month', 'quarter' or 'year' (CLI default 'day').
// params: $unit
// returns: period (date), created, cumulative
// mode: read
MATCH (u:User)
WHERE u.created_at IS NOT NULL
WITH date.truncate($unit, u.created_at) AS period, count(*) AS created
ORDER BY period
WITH collect({period: period, created: created}) AS periods
UNWIND range(0, size(periods) - 1) AS i
RETURN periods[i].period AS period, periods[i].created AS created,
       reduce(total = 0, p IN periods[0..i + 1] | total + p.created) AS cumulative
