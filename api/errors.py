"""The one place that maps errors to HTTP statuses and the one JSON error body:

    {"error": {"code": "...", "message": "...", "details": {...}}}

Every handler below produces that shape, including for validation errors, unknown
routes and unexpected exceptions, so clients parse one thing.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from neo4j.exceptions import ConnectionPoolError, ServiceUnavailable, SessionExpired
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    QueryRejected,
    RateLimited,
    Unavailable,
)

log = logging.getLogger("socialgraph.api")

STATUS_BY_ERROR: dict[type[DomainError], int] = {
    NotFound: 404,
    Conflict: 409,
    Forbidden: 403,
    Invalid: 400,
    QueryRejected: 400,
    RateLimited: 429,
    Unavailable: 503,
}

CODE_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    503: "unavailable",
}


class ErrorInfo(BaseModel):
    """What went wrong: a stable machine-readable `code`, a message for people, and
    details that depend on the code (`errors` for a validation error)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"code": "not_found", "message": "no such user", "details": {}}]
        }
    )

    code: str = Field(description="Stable: `not_found`, `rate_limited`, `validation_error`, ...")
    message: str
    details: dict[str, Any]


class ErrorBody(BaseModel):
    """The one error body, documented in the OpenAPI document for every error status."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": {
                        "code": "validation_error",
                        "message": "the request is invalid; see details.errors",
                        "details": {
                            "errors": [
                                {
                                    "loc": ["body", "text"],
                                    "msg": "Field required",
                                    "type": "missing",
                                }
                            ]
                        },
                    }
                }
            ]
        }
    )

    error: ErrorInfo


ERROR_DESCRIPTIONS = {
    400: "Not allowed by the rules, a malformed cursor or an unparsable body",
    401: "Missing, invalid, expired or revoked token",
    403: "Not allowed for this user",
    404: "No such resource (or hidden from you)",
    409: "Conflicts with the current state",
    413: "Request body above MAX_BODY_BYTES",
    422: "The request does not match the schema; see details.errors",
    429: "Rate limited; see Retry-After",
    503: "A dependency (Neo4j or Redis) is unavailable; retry shortly",
}


# The handlers below send it with every 429 (the limit's window) and 503 (1 second).
RETRY_AFTER: dict[str, Any] = {
    "Retry-After": {
        "description": "Seconds to wait before retrying",
        "required": True,
        "schema": {"type": "integer", "minimum": 0, "examples": [1]},
    }
}


def responses(
    *statuses: int, notes: dict[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries that document the error body (and `Retry-After` on 429 and
    503) for these statuses; `notes` replaces the generic description of a status with
    what it means on that route."""
    notes = notes or {}
    return {
        s: {
            "model": ErrorBody,
            "description": notes.get(s, ERROR_DESCRIPTIONS[s]),
            **({"headers": RETRY_AFTER} if s in (429, 503) else {}),
        }
        for s in statuses
    }


class ApiError(Exception):
    """Raised by the API layer itself (auth, rate limits) with an explicit status."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or CODE_BY_STATUS.get(status, "error")
        self.details = details or {}
        self.headers = headers


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


def _jsonable_errors(errors: Any) -> list[dict[str, Any]]:
    out = []
    for e in errors:
        out.append(
            {
                "loc": list(e.get("loc", ())),
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
        )
    return out


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(DomainError)
    async def _graph_error(_: Request, exc: DomainError) -> JSONResponse:
        status = next((STATUS_BY_ERROR[c] for c in type(exc).__mro__ if c in STATUS_BY_ERROR), 400)
        headers = None
        if isinstance(exc, RateLimited):
            headers = {"Retry-After": str(exc.retry_after)}
        elif status == 503:
            headers = {"Retry-After": "1"}
        return error_response(status, exc.code, exc.message, exc.details, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(
            422,
            "validation_error",
            "the request is invalid; see details.errors",
            {"errors": _jsonable_errors(exc.errors())},
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = CODE_BY_STATUS.get(exc.status_code, "error")
        return error_response(
            exc.status_code, code, str(exc.detail), headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(ConnectionPoolError)
    @app.exception_handler(ServiceUnavailable)
    @app.exception_handler(SessionExpired)
    async def _neo4j_unreachable(request: Request, exc: Exception) -> JSONResponse:
        # Safety net for driver errors the data layer does not translate, e.g. no pooled
        # connection within the acquisition timeout after a Neo4j restart (was a 500).
        log.warning("Neo4j unavailable on %s %s: %s", request.method, request.url.path, exc)
        return error_response(
            503,
            "unavailable",
            "the graph database is unavailable; retry shortly",
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "an unexpected error occurred")
