// name: counts
// description: Users and friendships (count store), sizing the export progress bars.
// params: none
// returns: users, friendships
// mode: read
CALL () { MATCH (u:User) RETURN count(u) AS users }
CALL () { MATCH ()-[f:FRIENDS]->() RETURN count(f) AS friendships }
RETURN users, friendships
