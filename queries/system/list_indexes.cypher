// name: list_indexes
// description: Indexes in the current database, for migration checks.
// params: none
// returns: name, type, entityType, labelsOrTypes, properties, state
// mode: read
SHOW INDEXES YIELD name, type, entityType, labelsOrTypes, properties, state
RETURN name, type, entityType, labelsOrTypes, properties, state
ORDER BY name
