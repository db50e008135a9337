// name: interaction_activity
// description: Posts, likes and comments per period (from Post.created_at, LIKED.at, Comment.created_at). $unit is a date.truncate unit: 'day', 'week', 'month', 'quarter' or 'year' (CLI default 'day').
// params: $unit
// returns: period (date), posts, likes, comments
// mode: read
CALL () {
  MATCH (p:Post) WHERE p.created_at IS NOT NULL
  RETURN p.created_at AS at, 'post' AS kind
  UNION ALL
  MATCH ()-[l:LIKED]->() WHERE l.at IS NOT NULL
  RETURN l.at AS at, 'like' AS kind
  UNION ALL
  MATCH (c:Comment) WHERE c.created_at IS NOT NULL
  RETURN c.created_at AS at, 'comment' AS kind
}
WITH date.truncate($unit, at) AS period, kind
RETURN period,
       count(CASE WHEN kind = 'post' THEN 1 END) AS posts,
       count(CASE WHEN kind = 'like' THEN 1 END) AS likes,
       count(CASE WHEN kind = 'comment' THEN 1 END) AS comments
ORDER BY period
