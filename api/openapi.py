"""What the OpenAPI document says beyond the routes' own declarations.

- Operation ids: every route names its `operation_id` (camelCase, a verb and a noun:
  `listSuggestions`, `sendMessage`), which client generators turn into method names, so
  renaming a Python function never renames a client method. `operation_id_for` is the
  app's `generate_unique_id_function`, the fallback for a route without one: the method
  and the path (`GET /v1/users/{user_id}/friends` -> `getV1UsersUserIdFriends`), also
  stable under refactors.
- `install(app)` completes the document FastAPI builds with what no route declares: the
  `X-Request-ID` header that `api.observability.RequestContext` puts on every response,
  and a description for the form bodies FastAPI names `Body_<operationId>`. (The error
  handlers' `Retry-After` is declared with the error bodies, `api.errors.responses`.)

The committed snapshot of the document and the breaking-change check are
`api/openapi_snapshot.py`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

DESCRIPTION = """\
Friend-of-friend suggestions, feeds and messaging over a Neo4j social graph.

**Authentication.** `POST /v1/auth/token` (the OAuth2 password form) returns a bearer
access token (15 minutes) and a refresh token for `POST /v1/auth/refresh`; send
`Authorization: Bearer <access token>`. Analytics operations need the `analyst` role.

**Errors** have one body: `{"error": {"code", "message", "details"}}` (`ErrorBody`).

**Lists** are paged: `limit` (at most 100) and the opaque `next_cursor` of the previous
page passed back as `cursor`.

**Headers.** Every response carries `X-Request-ID` (send your own to correlate logs);
429 and 503 carry `Retry-After` (seconds); a replayed `sendMessage` answers 200 with
`Idempotent-Replayed: true`.

**Real time.** The WebSocket `/v1/ws` (message and friend-request events) is not an HTTP
operation, so it is not in this document: its protocol, events and close codes are the
AsyncAPI document `docs/asyncapi.yaml`.

**Compatibility.** `docs/openapi.json` is the reviewed snapshot of this document;
`tests/test_openapi_contract.py` fails on any difference, and names breaking ones
(`make openapi` refreshes the snapshot).
"""

TAGS = [
    {"name": "auth", "description": "Accounts, log in, token refresh and log out"},
    {"name": "users", "description": "Profiles and handle search"},
    {"name": "friends", "description": "Friend requests, friendships and blocks"},
    {"name": "posts", "description": "Posts, likes and comments"},
    {"name": "recommendations", "description": "People I may know and the feed (cached)"},
    {"name": "messages", "description": "Direct messages, conversations and read state"},
    {"name": "analytics", "description": "Named and ad-hoc read-only Cypher (analysts)"},
    {"name": "health", "description": "Liveness and readiness probes"},
]

REQUEST_ID = "X-Request-ID"
REQUEST_ID_HEADER: dict[str, Any] = {
    "description": "The request's id, also in the access log: the client's own "
    "`X-Request-ID` when it sent one of 8 to 64 characters from `A-Za-z0-9._-`, "
    "else a new one.",
    "required": True,
    "schema": {"type": "string", "examples": ["4f9c2a7be1d04c55a3e0c1b2d3e4f5a6"]},
}


def operation_id_for(route: APIRoute) -> str:
    """`route.operation_id`, else camelCase of the method and the path's words."""
    if route.operation_id:
        return route.operation_id
    method = sorted(route.methods or {"GET"})[0].lower()
    words = re.findall(r"[A-Za-z0-9]+", route.path_format)
    return method + "".join(w[:1].upper() + w[1:] for w in words)


def install(app: FastAPI) -> None:
    """`app.openapi()` returns FastAPI's document completed by `complete` (built once)."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented hook


def complete(doc: dict[str, Any]) -> dict[str, Any]:
    """Add `X-Request-ID` to every response of every operation (one definition in
    `components.headers`), and describe each `Body_*` schema by the operation that reads
    it (with that operation's example)."""
    components = doc.setdefault("components", {})
    components.setdefault("headers", {})[REQUEST_ID] = REQUEST_ID_HEADER
    request_id = {"$ref": f"#/components/headers/{REQUEST_ID}"}
    schemas = components.get("schemas", {})
    for item in doc.get("paths", {}).values():
        for op in item.values():
            for response in op.get("responses", {}).values():
                response["headers"] = {REQUEST_ID: request_id, **response.get("headers", {})}
            for media in op.get("requestBody", {}).get("content", {}).values():
                name = media.get("schema", {}).get("$ref", "").rpartition("/")[2]
                if name.startswith("Body_") and name in schemas:
                    schema = schemas[name]
                    schema.setdefault(
                        "description", f"The fields of `{op['operationId']}`: {op['summary']}."
                    )
                    if "example" in media:
                        schema.setdefault("examples", [media["example"]])
    return doc
