"""Refresh tokens rotate, and a used one coming back revokes its whole family (RFC 9700,
the OAuth 2.0 Security Best Current Practice, 4.14.2): issue 12, finding 5."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt

from api.main import create_app
from api.security import ALGORITHM
from core.config import Settings
from tests import redisstack
from tests.apiproc import free_port
from tests.factories import assert_error

PASSWORD = "correct horse battery"


async def login(client: httpx.AsyncClient, handle: str) -> dict[str, Any]:
    r = await client.post("/v1/auth/token", data={"username": handle, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return dict(r.json())


async def account(client: httpx.AsyncClient, handle: str) -> dict[str, Any]:
    r = await client.post("/v1/users", json={"handle": handle, "password": PASSWORD})
    assert r.status_code == 201, r.text
    return await login(client, handle)


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/v1/auth/refresh", json={"refresh_token": token})


async def me(client: httpx.AsyncClient, access: str) -> int:
    r = await client.get("/v1/users/me", headers={"Authorization": f"Bearer {access}"})
    return r.status_code


async def test_each_refresh_returns_a_new_refresh_token(
    client: httpx.AsyncClient,
) -> None:
    tokens = await account(client, "rota")
    seen = {tokens["refresh_token"]}
    for _ in range(3):
        r = await refresh(client, tokens["refresh_token"])
        assert r.status_code == 200, r.text
        tokens = r.json()
        assert tokens["refresh_token"] not in seen
        seen.add(tokens["refresh_token"])
        assert await me(client, tokens["access_token"]) == 200


async def test_the_same_refresh_token_works_once(client: httpx.AsyncClient) -> None:
    """The attack as reported: the same refresh token three times in a row."""
    first = (await account(client, "rotb"))["refresh_token"]
    statuses = [(await refresh(client, first)).status_code for _ in range(3)]
    assert statuses == [200, 401, 401]


async def test_a_used_refresh_token_coming_back_revokes_its_family(
    client: httpx.AsyncClient,
) -> None:
    t0 = await account(client, "rotc")
    other_device = await login(client, "rotc")  # another login: another family
    r1 = await refresh(client, t0["refresh_token"])
    assert r1.status_code == 200
    t1 = r1.json()
    # The old token again (stolen and replayed, or the thief was first): 401 ...
    reuse = await refresh(client, t0["refresh_token"])
    assert_error(reuse, 401, "unauthorized")
    assert "reuse" in reuse.json()["error"]["message"]
    # ... and every token descended from that login is dead, the newest one too.
    assert_error(await refresh(client, t1["refresh_token"]), 401)
    # The other login's family is untouched.
    r = await refresh(client, other_device["refresh_token"])
    assert r.status_code == 200, r.text
    assert (await refresh(client, r.json()["refresh_token"])).status_code == 200


async def test_concurrent_refreshes_with_one_token_let_one_through_then_revoke(
    client: httpx.AsyncClient,
) -> None:
    t0 = await account(client, "rotd")
    rs = await asyncio.gather(*(refresh(client, t0["refresh_token"]) for _ in range(8)))
    codes = sorted(r.status_code for r in rs)
    assert codes == [200] + [401] * 7, codes
    (winner,) = [r.json() for r in rs if r.status_code == 200]
    assert_error(await refresh(client, winner["refresh_token"]), 401)


async def test_logout_still_revokes_every_family(client: httpx.AsyncClient) -> None:
    t0 = await account(client, "rote")
    t1 = (await refresh(client, t0["refresh_token"])).json()
    other = await login(client, "rote")
    auth = {"Authorization": f"Bearer {t1['access_token']}"}
    assert (await client.post("/v1/auth/logout", headers=auth)).status_code == 204
    for token in (t1["refresh_token"], other["refresh_token"]):
        assert_error(await refresh(client, token), 401)


async def test_a_refresh_token_issued_before_rotation_works_once(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """Tokens issued before families existed carry no `fam`: each is its own family, so a
    deploy logs nobody out, and a replay of one is caught like any other."""
    await account(client, "rotf")
    row = (await login(client, "rotf"))["access_token"]
    sub = jwt.decode(row, options={"verify_signature": False})["sub"]
    now = int(time.time())
    legacy = jwt.encode(
        {
            "sub": sub,
            "ver": 0,
            "typ": "refresh",
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "iss": settings.jwt_issuer,
            "aud": settings.jwt_audience,
            "jti": uuid.uuid4().hex,
        },
        settings.jwt_secret,
        algorithm=ALGORITHM,
    )
    r = await refresh(client, legacy)
    assert r.status_code == 200, r.text
    assert_error(await refresh(client, legacy), 401)
    assert_error(await refresh(client, r.json()["refresh_token"]), 401)


async def dead_redis_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    dead = redisstack.down_settings(settings, free_port())
    application = create_app(dead)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


async def test_refresh_fails_closed_with_503_while_redis_is_down(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    t0 = await account(client, "rotg")
    async for down in dead_redis_client(settings):
        r = await refresh(down, t0["refresh_token"])
        assert_error(r, 503, "unavailable")
        assert "refresh" in r.json()["error"]["message"]
    # Nothing was consumed: the token works once Redis answers again, and only once.
    assert (await refresh(client, t0["refresh_token"])).status_code == 200
    assert_error(await refresh(client, t0["refresh_token"]), 401)
