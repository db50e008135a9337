"""Neo4j access: driver lifecycle, the Cypher query catalog, and the data-layer operations."""
