"""Liveness and readiness. /readyz names each dependency's state; 503 if any is down."""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.deps import GraphDep, RedisDep

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: Literal["ok"]


class DependencyState(BaseModel):
    status: Literal["ok", "down"]
    error: str | None = None


class Ready(BaseModel):
    status: Literal["ok", "unavailable"]
    neo4j: DependencyState
    redis: DependencyState


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    return Health(status="ok")


async def _check(coro: object, timeout: float) -> DependencyState:
    try:
        await asyncio.wait_for(coro, timeout)  # type: ignore[arg-type]
        return DependencyState(status="ok")
    except Exception as exc:  # any failure means "not ready"; the name says which
        return DependencyState(status="down", error=f"{type(exc).__name__}: {exc}"[:200])


@router.get("/readyz", response_model=Ready, responses={503: {"model": Ready}})
async def readyz(graph: GraphDep, redis: RedisDep) -> JSONResponse:
    neo, red = await asyncio.gather(_check(graph.ping(), 2.0), _check(redis.ping(), 1.0))
    ok = neo.status == "ok" and red.status == "ok"
    body = Ready(status="ok" if ok else "unavailable", neo4j=neo, redis=red)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
