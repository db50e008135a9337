// name: dbms_procedures
// description: Names of the DBMS-mode procedures (act on the server, not the graph); the analyst plan check refuses them.
// params: none
// returns: names
// mode: read
SHOW PROCEDURES YIELD name, mode WHERE mode = 'DBMS' RETURN collect(name) AS names
