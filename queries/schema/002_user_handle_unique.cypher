// name: 002_user_handle_unique
// description: Handles are unique case-insensitively: handle_lower holds the lower-cased handle.
// params: none
// returns: nothing
// mode: schema
CREATE CONSTRAINT user_handle_unique IF NOT EXISTS FOR (u:User) REQUIRE u.handle_lower IS UNIQUE
