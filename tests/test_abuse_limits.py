"""Abuse limits: per-IP limits across handles (login, registration), and the in-process
fallback that keeps them while Redis is unreachable (redislayer/ratelimit.py).

The client IP is the socket peer (`request.client.host`); `socialgraph serve` runs uvicorn
with proxy headers off, so X-Forwarded-For changes nothing (docs/hardening.md). In-process
tests pick the peer address with `httpx.ASGITransport(client=...)`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from api.main import create_app
from core.config import Settings
from redislayer import ratelimit
from tests import redisstack
from tests.apiproc import free_port
from tests.factories import assert_error

PASSWORD = "correct horse battery"


def pin_the_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fixed windows: the limiter's clock stands still, so a burst gets one budget."""
    now = time.time()
    monkeypatch.setattr(ratelimit, "wall_clock", lambda: now)


def fresh_local_counters(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fallback counters live in the process (the suite's apps share them)."""
    monkeypatch.setattr(ratelimit, "LOCAL", ratelimit.LocalWindows())


def from_ip(app: Any, ip: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def spray(client: httpx.AsyncClient, n: int, prefix: str) -> list[int]:
    """n logins, one handle each (none of them exists), as a password spray does."""
    statuses = []
    for i in range(n):
        r = await client.post(
            "/v1/auth/token", data={"username": f"{prefix}{i:03d}", "password": "Spring2024!"}
        )
        statuses.append(r.status_code)
    return statuses


async def user_with_password(app: Any, handle: str) -> None:
    """Registered through the API, from an address of its own."""
    async with from_ip(app, "192.0.2.250") as c:
        r = await c.post("/v1/users", json={"handle": handle, "password": PASSWORD})
        assert r.status_code == 201, r.text


# ------------------------------------------------------------------ Redis up


async def test_login_spray_across_handles_from_one_ip_is_limited(
    app: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The finding: 30 handles from one IP in under a second all got 401, never 429."""
    await user_with_password(app, "sprayvictim")
    pin_the_window(monkeypatch)
    async with from_ip(app, "203.0.113.7") as attacker:
        statuses = await spray(attacker, 30, "spray")
        assert 429 in statuses, statuses
        limit = settings.login_rate_per_ip_per_minute
        assert statuses == [401] * limit + [429] * (30 - limit)
        # Past the limit the right password of a real account is refused from that IP too.
        r = await attacker.post(
            "/v1/auth/token", data={"username": "sprayvictim", "password": PASSWORD}
        )
        assert_error(r, 429, "rate_limited")
        assert 1 <= int(r.headers["Retry-After"]) <= 60
        assert r.json()["error"]["details"] == {"limit": limit, "window_seconds": 60}
    # Another address is not affected.
    async with from_ip(app, "198.51.100.20") as user:
        r = await user.post(
            "/v1/auth/token", data={"username": "sprayvictim", "password": PASSWORD}
        )
        assert r.status_code == 200, r.text


async def test_registration_is_limited_per_ip(
    app: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The finding: 20 accounts from one IP in 0.7 s, all 201."""
    pin_the_window(monkeypatch)
    statuses = []
    async with from_ip(app, "203.0.113.8") as bot:
        for i in range(20):
            r = await bot.post("/v1/users", json={"handle": f"bot{i:03d}", "password": PASSWORD})
            statuses.append(r.status_code)
        assert 429 in statuses, statuses
        limit = settings.register_rate_per_ip_per_hour
        assert statuses == [201] * limit + [429] * (20 - limit)
        r = await bot.post("/v1/users", json={"handle": "onemore", "password": PASSWORD})
        assert_error(r, 429, "rate_limited")
        assert 1 <= int(r.headers["Retry-After"]) <= 3600
        assert r.json()["error"]["details"] == {"limit": limit, "window_seconds": 3600}
    async with from_ip(app, "198.51.100.21") as person:
        r = await person.post("/v1/users", json={"handle": "realperson", "password": PASSWORD})
        assert r.status_code == 201, r.text


async def test_forwarded_for_does_not_change_the_client_ip(
    app: Any, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    """Proxy headers are not trusted: a spray cannot reset its budget by naming new IPs."""
    pin_the_window(monkeypatch)
    limit = settings.login_rate_per_ip_per_minute
    async with from_ip(app, "203.0.113.9") as attacker:
        statuses = []
        for i in range(limit + 1):
            r = await attacker.post(
                "/v1/auth/token",
                data={"username": f"fwd{i:03d}", "password": "Spring2024!"},
                headers={"X-Forwarded-For": f"192.0.2.{i}", "X-Real-IP": f"192.0.2.{i}"},
            )
            statuses.append(r.status_code)
    assert statuses == [401] * limit + [429]


# ------------------------------------------------------------------ Redis down


@pytest.fixture
async def redisless_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The real app and Neo4j, with Redis at an address where nothing listens."""
    down = redisstack.down_settings(settings, free_port())
    application = create_app(down)
    async with application.router.lifespan_context(application):
        yield application


async def test_login_limits_hold_while_redis_is_down(
    redisless_app: FastAPI, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The finding: the login limiter failed open without Redis (the right password after
    the limit got 200). Now each process counts locally meanwhile."""
    await user_with_password(redisless_app, "downvictim")
    pin_the_window(monkeypatch)
    fresh_local_counters(monkeypatch)
    per_handle = settings.login_rate_per_minute
    async with from_ip(redisless_app, "203.0.113.10") as attacker:
        for _ in range(per_handle):
            r = await attacker.post(
                "/v1/auth/token", data={"username": "downvictim", "password": "wrong guess"}
            )
            assert_error(r, 401)
        r = await attacker.post(
            "/v1/auth/token", data={"username": "downvictim", "password": PASSWORD}
        )
        assert_error(r, 429, "rate_limited")
    async with from_ip(redisless_app, "203.0.113.11") as sprayer:
        statuses = await spray(sprayer, 30, "downspray")
    per_ip = settings.login_rate_per_ip_per_minute
    assert statuses == [401] * per_ip + [429] * (30 - per_ip)
    # Someone else logs in meanwhile.
    async with from_ip(redisless_app, "198.51.100.22") as user:
        r = await user.post("/v1/auth/token", data={"username": "downvictim", "password": PASSWORD})
        assert r.status_code == 200, r.text


async def test_registration_limit_holds_while_redis_is_down(
    redisless_app: FastAPI, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    pin_the_window(monkeypatch)
    fresh_local_counters(monkeypatch)
    limit = settings.register_rate_per_ip_per_hour
    statuses = []
    async with from_ip(redisless_app, "203.0.113.12") as bot:
        for i in range(limit + 1):
            r = await bot.post("/v1/users", json={"handle": f"dbot{i:03d}", "password": PASSWORD})
            statuses.append(r.status_code)
    assert statuses == [201] * limit + [429]


# ------------------------------------------------------------------ the local counters


def test_local_windows_count_per_key_and_window() -> None:
    local = ratelimit.LocalWindows(max_keys=10)
    assert [local.incr("k", 1) for _ in range(3)] == [1, 2, 3]
    assert local.incr("other", 1) == 1
    assert local.incr("k", 2) == 1  # the next window starts from zero


def test_local_windows_are_bounded_and_keep_the_busiest_keys() -> None:
    """At most max_keys counters; the least recently counted go first, so an attacker
    rotating handles cannot push out the per-IP counter they hit on every attempt."""
    local = ratelimit.LocalWindows(max_keys=100)
    for i in range(10_000):
        assert local.incr("ip:203.0.113.7", 1) == i + 1
        local.incr(f"ip:203.0.113.7:handle{i}", 1)
        assert len(local) <= 100
    assert local.incr("ip:203.0.113.7", 1) == 10_001
