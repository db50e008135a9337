"""A revocation made while Redis is down applies on the very first request after Redis
returns, on every worker, every time (issue 12, finding 13).

The sequence: the principal is cached in Redis (and on disk: the append-only file is
fsynced on every write for this test), Redis is SIGKILLed, the user logs out (or an
operator changes their role) while it is down, Redis restarts from its append-only file
with the old cached principal in it, and the first request with the old token goes to the
worker that did not handle the logout and never saw Redis fail."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
from typer.testing import CliRunner

from core.config import Settings
from socialgraph.cli import app as cli
from tests import redisstack
from tests.apiproc import ApiProcess
from tests.factories import graph_users

ROUNDS = 10


@pytest.fixture
def two_workers(settings: Settings) -> Iterator[list[ApiProcess]]:
    apis = [ApiProcess(settings) for _ in range(2)]
    server = redisstack.server(settings)
    try:
        for api in apis:
            api.start()
        yield apis
    finally:
        for api in apis:
            api.stop()
        if server.pid() is None:  # a failure midway must not leave it down
            server.start()


def durable(rds: redis.Redis) -> None:
    """Every write fsynced before Redis answers, so what the API cached survives SIGKILL
    (a restart reads devstack's config again, so this lasts until the next restart)."""
    redisstack.config_set(rds, "appendfsync", "always")


async def crash_and_restart(server: redisstack.RedisUnderTest, while_down: Any) -> Any:
    await asyncio.to_thread(server.kill)
    try:
        return await while_down()
    finally:
        await asyncio.to_thread(server.start)


async def test_logout_while_redis_is_down_applies_on_the_first_request_after(
    two_workers: list[ApiProcess], neo: Any, rds: redis.Redis, settings: Settings
) -> None:
    a, b = two_workers
    server = redisstack.server(settings)
    users = graph_users(neo, settings, ROUNDS, prefix="ro")
    firsts: list[tuple[int, int]] = []
    async with (
        httpx.AsyncClient(base_url=a.url, timeout=10) as on_a,
        httpx.AsyncClient(base_url=b.url, timeout=10) as on_b,
    ):
        for u in users:
            durable(rds)
            for c in (on_a, on_b):  # cached by both workers' reads, now on disk
                assert (await c.get("/v1/users/me", headers=u.headers)).status_code == 200

            async def logout(headers: dict[str, str] = u.headers) -> int:
                return (await on_a.post("/v1/auth/logout", headers=headers)).status_code

            assert await crash_and_restart(server, logout) == 204
            first_b = (await on_b.get("/v1/users/me", headers=u.headers)).status_code
            first_a = (await on_a.get("/v1/users/me", headers=u.headers)).status_code
            firsts.append((first_b, first_a))
    assert firsts == [(401, 401)] * ROUNDS, firsts


async def test_role_change_while_redis_is_down_applies_on_the_first_request_after(
    two_workers: list[ApiProcess], neo: Any, rds: redis.Redis, settings: Settings
) -> None:
    a, b = two_workers
    server = redisstack.server(settings)
    users = graph_users(neo, settings, 4, prefix="rr")
    seen: list[tuple[str, int, int]] = []
    async with (
        httpx.AsyncClient(base_url=a.url, timeout=10) as on_a,
        httpx.AsyncClient(base_url=b.url, timeout=10) as on_b,
    ):
        for i, u in enumerate(users):
            revoke = i % 2 == 1
            if revoke:
                neo.execute_query("MATCH (u:User {id: $id}) SET u.roles = ['analyst']", id=u.id)
            durable(rds)
            for c in (on_a, on_b):
                r = await c.get("/v1/analytics/queries", headers=u.headers)
                assert r.status_code == (200 if revoke else 403)

            async def change(revoke: bool = revoke, handle: str = u.handle) -> None:
                args = ["grant-role", handle, "analyst", *(["--revoke"] if revoke else [])]
                result = await asyncio.to_thread(CliRunner().invoke, cli, args)
                assert result.exit_code == 0, result.output

            await crash_and_restart(server, change)
            first_b = (await on_b.get("/v1/analytics/queries", headers=u.headers)).status_code
            first_a = (await on_a.get("/v1/analytics/queries", headers=u.headers)).status_code
            seen.append(("revoke" if revoke else "grant", first_b, first_a))
    expected = [("revoke", 403, 403) if i % 2 else ("grant", 200, 200) for i in range(4)]
    assert seen == expected


async def test_a_redis_without_the_fence_serves_no_principal_cached_before(
    client: httpx.AsyncClient, neo: Any, rds: redis.Redis, settings: Settings
) -> None:
    """The mechanism without a crash: a token version bumped in Neo4j whose Redis bump was
    lost, then Redis forgets its scripts as a restart would (SCRIPT FLUSH)."""
    (u,) = graph_users(neo, settings, 1, prefix="rf")
    for _ in range(2):
        assert (await client.get("/v1/users/me", headers=u.headers)).status_code == 200
    neo.execute_query("MATCH (u:User {id: $id}) SET u.token_version = 1", id=u.id)
    # The lost bump: the cached principal is still served while the fence stands ...
    assert (await client.get("/v1/users/me", headers=u.headers)).status_code == 200
    rds.script_flush()
    # ... and never once Redis has forgotten it.
    assert (await client.get("/v1/users/me", headers=u.headers)).status_code == 401
