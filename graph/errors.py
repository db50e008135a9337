"""Small errors raised by the data layer; only `api/errors.py` maps them to HTTP."""

from __future__ import annotations

from typing import Any


class GraphError(Exception):
    code = "error"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class NotFound(GraphError):
    code = "not_found"


class Conflict(GraphError):
    code = "conflict"


class Forbidden(GraphError):
    code = "forbidden"


class Invalid(GraphError):
    """A request that is well-formed but not allowed by the rules (self-friending, ...)."""

    code = "invalid"


class Unavailable(GraphError):
    """Neo4j (or Redis, for things that need it) cannot be reached right now."""

    code = "unavailable"


class QueryRejected(GraphError):
    """Neo4j refused a query (syntax, write in a read transaction, timeout)."""

    code = "query_rejected"
