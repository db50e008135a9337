"""Small domain errors raised by the data layers (Neo4j and Redis); only `api/errors.py`
maps them to HTTP statuses."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "error"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class Forbidden(DomainError):
    code = "forbidden"


class Invalid(DomainError):
    """A request that is well-formed but not allowed by the rules (self-friending, ...)."""

    code = "invalid"


class Unavailable(DomainError):
    """Neo4j (or Redis, for things that need it) cannot be reached right now."""

    code = "unavailable"


class QueryRejected(DomainError):
    """Neo4j refused a query (syntax, write in a read transaction, timeout)."""

    code = "query_rejected"


class RateLimited(DomainError):
    """An action past its limit for this window; `retry_after` seconds until the next."""

    code = "rate_limited"

    def __init__(
        self, message: str, retry_after: int, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message, details)
        self.retry_after = retry_after
