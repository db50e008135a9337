"""Request ids, structured access logs, latency histograms, and /metrics.

Every response carries `X-Request-ID` (the client's, if it sent a sane one); the access
line (logger `socialgraph.access`, JSON through `core.logconfig`) has that id, the route
template, status, duration and the user id; docs/observability.md lists the fields.
"""

from __future__ import annotations

import asyncio
import atexit
import hmac
import logging
import os
import re
import time
import uuid
from typing import Any

from fastapi import APIRouter, Request, Response
from opentelemetry import trace
from prometheus_client import CONTENT_TYPE_LATEST, Gauge
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import ApiError
from core import logconfig, metrics

access_log = logging.getLogger("socialgraph.access")
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

router = APIRouter(tags=["health"])


def _asyncio_tasks() -> float:
    try:
        return float(len(asyncio.all_tasks()))
    except RuntimeError:  # collected outside the event loop's thread
        return float("nan")


# Leak detection (tests/test_leaks.py): tasks left behind by cancelled requests or sockets.
# One process: read at each scrape. Several workers: each worker's own value (a `pid`
# label), refreshed at most once a second as it finishes requests, since a scrape reaches
# one worker only.
ASYNCIO_TASKS = Gauge(
    "sg_asyncio_tasks", "asyncio tasks alive in the process", multiprocess_mode="liveall"
)
_MULTIPROCESS = metrics.multiprocess_dir() is not None
_TASKS_EVERY = 1.0
_tasks_sampled = 0.0
if _MULTIPROCESS:
    atexit.register(metrics.mark_process_dead, os.getpid())
else:
    ASYNCIO_TASKS.set_function(_asyncio_tasks)


def _sample_tasks(now: float) -> None:
    global _tasks_sampled
    if now - _tasks_sampled >= _TASKS_EVERY:
        _tasks_sampled = now
        ASYNCIO_TASKS.set(_asyncio_tasks())


@router.get("/metrics", response_class=Response, include_in_schema=False)
async def prometheus(request: Request) -> Response:
    """With METRICS_TOKEN set (always in production), only `Authorization: Bearer <token>`."""
    token: str | None = request.app.state.settings.metrics_token
    if token:
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, f"Bearer {token}".encode()):
            raise ApiError(
                401,
                "/metrics needs `Authorization: Bearer <METRICS_TOKEN>`",
                "unauthorized",
                headers={"WWW-Authenticate": "Bearer"},
            )
    return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


def route_template(scope: Scope) -> str:
    """The matched route's full path template (`/v1/users/{user_id}`), or "unmatched".

    FastAPI no longer copies an included router's routes with the prefix: `scope["route"]`
    is the route as declared (`/users/{user_id}`), and the effective route, prefix
    included, is in FastAPI's own scope entry."""
    effective = scope.get("fastapi", {}).get("effective_route_context")
    route = scope.get("route")
    return (
        getattr(getattr(effective, "starlette_route", None), "path_format", None)
        or getattr(effective, "path_format", None)
        or getattr(route, "path_format", None)
        or "unmatched"
    )


class RequestContext:
    """Request ids, the request's log context, its access line and its latency metric.

    HTTP: `X-Request-ID` on the response (the client's, if it sent a sane one). WebSocket:
    the same header on the handshake's answer, and one line when the socket ends (close
    code, duration). Every line logged while the request runs (the handlers', uvicorn's
    WebSocket line) carries its `request_id`, and its `user_id` once authenticated
    (`core.logconfig.bind`). When the app raises, the context stays set for the lines the
    error handler and the server write next (each request runs in a task of its own).
    With `tracing` (api/tracing.py), the request id is an attribute of the request span."""

    def __init__(self, app: ASGIApp, tracing: bool = False) -> None:
        self.app = app
        self.tracing = tracing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = b""
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                incoming = value
                break
        candidate = incoming.decode("latin-1")
        request_id = candidate if _SANE_ID.match(candidate) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        header = (b"x-request-id", request_id.encode())
        context = logconfig.request_context(request_id=request_id)
        if self.tracing:
            trace.get_current_span().set_attribute("socialgraph.request_id", request_id)
        status = 500
        close_code: int | None = None
        start = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status, close_code
            kind = message["type"]
            if kind == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), header]
            elif kind == "websocket.accept":
                status = 101
                message["headers"] = [*message.get("headers", []), header]
            elif kind == "websocket.http.response.start":
                status = message["status"]
            elif kind == "websocket.close":
                close_code = message.get("code", 1000)
                if status == 500:  # closed before accepting: the server answers 403
                    status = 403
            await send(message)

        async def ws_receive() -> Message:
            nonlocal close_code
            message = await receive()
            if message["type"] == "websocket.disconnect" and close_code is None:
                close_code = message.get("code", 1005)  # the client closed first
            return message

        failed = False
        try:
            await self.app(scope, ws_receive if kind == "websocket" else receive, send_with_id)
        except BaseException:
            failed = True
            raise
        finally:
            elapsed = time.perf_counter() - start
            template = route_template(scope)
            fields = logconfig.current()
            if kind == "http":
                metrics.REQUEST_LATENCY.labels(scope["method"], template, str(status)).observe(
                    elapsed
                )
            if _MULTIPROCESS:
                _sample_tasks(start + elapsed)
            if access_log.isEnabledFor(logging.INFO):
                method = scope.get("method", "WS")
                line: dict[str, Any] = {
                    "method": method,
                    "route": template,
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                    "user_id": fields.get("user_id"),
                }
                if kind == "websocket":
                    line["close_code"] = close_code
                access_log.info(f"{method} {template} {status}", extra=line)
            if not failed:
                logconfig.reset_context(context)
