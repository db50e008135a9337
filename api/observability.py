"""Request ids, structured access logs, latency histograms, and /metrics.

Every response carries `X-Request-ID` (the client's, if it sent a sane one); the access
log line is one JSON object with that id, the route template, status and duration.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import time
import uuid

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import ApiError
from core import metrics

access_log = logging.getLogger("socialgraph.access")
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

router = APIRouter(tags=["health"])


def _asyncio_tasks() -> float:
    try:
        return float(len(asyncio.all_tasks()))
    except RuntimeError:  # collected outside the event loop's thread
        return float("nan")


# Leak detection (tests/test_leaks.py): tasks left behind by cancelled requests or sockets.
ASYNCIO_TASKS = Gauge("sg_asyncio_tasks", "asyncio tasks alive in this process")
ASYNCIO_TASKS.set_function(_asyncio_tasks)


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
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


class RequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers", [])).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _SANE_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        start = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - start
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            metrics.REQUEST_LATENCY.labels(scope["method"], template, str(status)).observe(elapsed)
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    json.dumps(
                        {
                            "request_id": request_id,
                            "method": scope["method"],
                            "route": template,
                            "path": scope["path"],
                            "status": status,
                            "ms": round(elapsed * 1000, 2),
                        }
                    )
                )
