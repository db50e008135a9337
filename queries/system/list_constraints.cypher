// name: list_constraints
// description: Constraints in the current database, for migration checks.
// params: none
// returns: name, type, entityType, labelsOrTypes, properties
// mode: read
SHOW CONSTRAINTS YIELD name, type, entityType, labelsOrTypes, properties
RETURN name, type, entityType, labelsOrTypes, properties
ORDER BY name
