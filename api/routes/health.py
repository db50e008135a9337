"""Liveness and readiness. /readyz names each dependency's state; 503 if any is down."""

from __future__ import annotations

import asyncio
import logging
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict

from api.deps import GraphDep, RedisDep
from redislayer import connection

router = APIRouter(tags=["health"])
log = logging.getLogger("socialgraph.api")


class Health(BaseModel):
    """The process is up (it checks no dependency)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]})

    status: Literal["ok"]


class DependencyState(BaseModel):
    """Whether one dependency answered its check."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]})

    status: Literal["ok", "down"]
    error: str | None = None


class Ready(BaseModel):
    """Readiness: `ok` when Neo4j and Redis both answer, else `unavailable` (503)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"status": "ok", "neo4j": {"status": "ok"}, "redis": {"status": "ok"}}]
        }
    )

    status: Literal["ok", "unavailable"]
    neo4j: DependencyState
    redis: DependencyState


@router.get("/healthz", operation_id="getHealth", summary="Liveness", response_model=Health)
async def healthz() -> Health:
    """200 while the process serves requests; for a liveness probe."""
    return Health(status="ok")


async def _check(coro: object, timeout: float) -> DependencyState:
    try:
        await asyncio.wait_for(coro, timeout)  # type: ignore[arg-type]
        return DependencyState(status="ok")
    except Exception as exc:  # any failure means "not ready"
        # /readyz is public: the body gives a state, never an address or exception text
        # (a Redis error names host and port); the log keeps the details.
        log.warning("readiness check failed: %s: %s", type(exc).__name__, exc)
        reason = "timeout" if isinstance(exc, TimeoutError) else "unreachable"
        return DependencyState(status="down", error=reason)


@router.get(
    "/readyz",
    operation_id="getReadiness",
    summary="Readiness",
    response_model=Ready,
    responses={503: {"model": Ready, "description": "Neo4j or Redis is down"}},
)
async def readyz(graph: GraphDep, redis: RedisDep) -> JSONResponse:
    """Neo4j and Redis each checked with a short timeout; 503 names which is down. For a
    readiness probe or load balancer."""
    neo, red = await asyncio.gather(_check(graph.ping(), 2.0), _check(connection.ping(redis), 1.0))
    ok = neo.status == "ok" and red.status == "ok"
    body = Ready(status="ok" if ok else "unavailable", neo4j=neo, redis=red)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


def _without_body(response: Response) -> Response:
    """A HEAD answer: the GET answer's status and headers (its Content-Length included),
    no body (RFC 9110 9.3.2), so probes that send HEAD get what GET gets."""
    return Response(status_code=response.status_code, headers=dict(response.headers))


@router.head("/healthz", include_in_schema=False)
async def healthz_head() -> Response:
    return _without_body(JSONResponse((await healthz()).model_dump()))


@router.head("/readyz", include_in_schema=False)
async def readyz_head(graph: GraphDep, redis: RedisDep) -> Response:
    return _without_body(await readyz(graph, redis))
