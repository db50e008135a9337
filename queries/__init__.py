"""The Cypher catalog, shipped as package data (found with importlib.resources)."""
