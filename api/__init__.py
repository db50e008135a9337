"""The FastAPI application: thin routes over `graph/` and the Redis layer."""
