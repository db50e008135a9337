"""Typed dependency aliases; routes import these, never the wiring behind them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import OAuth2PasswordBearer

from api import security, services
from api.errors import ApiError
from core import logconfig
from core.config import Settings
from core.paging import MAX_LIMIT
from graph.db import Graph
from redislayer.cache import Cache
from redislayer.connection import AsyncRedis
from redislayer.inbox import Inbox


async def get_graph(request: Request) -> Graph:
    graph: Graph = request.app.state.graph
    return graph


async def get_redis(request: Request) -> AsyncRedis:
    client: AsyncRedis = request.app.state.redis
    return client


async def get_cache(request: Request) -> Cache:
    cache: Cache = request.app.state.cache
    return cache


async def get_inbox(request: Request) -> Inbox:
    inbox: Inbox = request.app.state.inbox
    return inbox


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


GraphDep = Annotated[Graph, Depends(get_graph)]
RedisDep = Annotated[AsyncRedis, Depends(get_redis)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
CacheDep = Annotated[Cache, Depends(get_cache)]
InboxDep = Annotated[Inbox, Depends(get_inbox)]


# ------------------------------------------------------------------ auth


oauth2 = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


@dataclass(frozen=True)
class Principal:
    id: str
    handle: str
    roles: tuple[str, ...]
    token_version: int = 0
    expires_at: int = 0  # the access token's `exp` (seconds since the epoch)


def unauthorized(message: str) -> ApiError:
    return ApiError(401, message, "unauthorized", headers=_CHALLENGE)


async def current_user(
    graph: GraphDep,
    cache: CacheDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(oauth2)],
) -> Principal:
    return await authenticate(graph, cache, settings, token)


async def authenticate(
    graph: Graph, cache: Cache, settings: Settings, token: str | None
) -> Principal:
    """The user an access token speaks for, now (HTTP routes and WebSockets alike)."""
    if not token:
        raise unauthorized("missing bearer token; log in at POST /v1/auth/token")
    try:
        claims = security.decode(settings, token, "access")
    except security.TokenError as exc:
        raise unauthorized(str(exc)) from exc
    # Before the first read: even the principal read waits for this user's last write
    # (a logout on another process is seen here), docs/routing.md.
    graph.carry_bookmarks_of(claims.sub)
    row = await services.principal(graph, cache, claims.sub)
    # A deleted user, or one whose tokens were revoked, fails here.
    if row is None or row["token_version"] != claims.ver:
        raise unauthorized("the token is no longer valid; log in again")
    logconfig.bind(user_id=row["id"])  # on this request's log lines (core/logconfig.py)
    return Principal(
        id=row["id"],
        handle=row["handle"],
        roles=tuple(row["roles"]),
        token_version=claims.ver,
        expires_at=claims.exp,
    )


CurrentUser = Annotated[Principal, Depends(current_user)]


async def analyst_user(user: CurrentUser) -> Principal:
    if "analyst" not in user.roles:
        raise ApiError(403, "this endpoint needs the analyst role", "forbidden")
    return user


AnalystUser = Annotated[Principal, Depends(analyst_user)]

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Page size (max {MAX_LIMIT})")]
Cursor = Annotated[str | None, Query(max_length=512, description="From the previous page")]
