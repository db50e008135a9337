// name: public_by_id
// description: Another user's public profile as the viewer sees it. `exists` tells a missing user (negative-cacheable) from one hidden by a block either way (user is null).
// params: $viewer_id, $id
// returns: exists, user
// mode: read
OPTIONAL MATCH (u:User {id: $id})
OPTIONAL MATCH (v:User {id: $viewer_id})
RETURN u IS NOT NULL AS exists,
       CASE WHEN u IS NULL OR v IS NULL OR EXISTS { (v)-[:BLOCKED]-(u) } THEN null
            ELSE u {.id, .handle, .display_name, .bio, .created_at,
                    friend_count: COUNT { (u)-[:FRIENDS]-() },
                    post_count: COUNT { (u)-[:POSTED]->() },
                    is_friend: EXISTS { (v)-[:FRIENDS]-(u) }} END AS user
