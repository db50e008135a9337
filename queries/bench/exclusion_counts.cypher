// name: exclusion_counts
// description: What could make the suggestion exclusions differ from plain friends-of-friends.
// params: none
// returns: blocked, dismissed, pending, hidden
// mode: read
CALL () { MATCH ()-[r:BLOCKED]->() RETURN count(r) AS blocked }
CALL () { MATCH ()-[r:DISMISSED]->() RETURN count(r) AS dismissed }
CALL () { MATCH ()-[r:REQUESTED]->() WHERE r.status = 'pending' RETURN count(r) AS pending }
CALL () { MATCH (u:User) WHERE u.discoverable = false RETURN count(u) AS hidden }
RETURN blocked, dismissed, pending, hidden
