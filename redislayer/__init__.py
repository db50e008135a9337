"""The Redis layer: cache, inbox, rate limits, real-time fan-out and the key names.

It sits beside `graph/` (the Neo4j layer) and imports only `core/`."""
