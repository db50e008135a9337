"""Revocation reaches open sockets: logout, a role change, account deletion and token expiry
close the user's WebSockets on every worker within a second (close code 4001), with the
production heartbeat (20 s), so nothing but the announcement can close them in time."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
import websockets
from typer.testing import CliRunner
from websockets.exceptions import ConnectionClosed

from api.security import ALGORITHM
from core.config import Settings
from socialgraph.cli import app as cli
from tests.apiproc import ApiProcess
from tests.factories import U, graph_users

CLOSE_WITHIN_S = 1.0


@pytest.fixture(scope="module")
def workers(settings: Settings) -> Iterator[list[str]]:
    """Two uvicorn processes on the same Neo4j and Redis, with the production heartbeat."""
    apis = [ApiProcess(settings) for _ in range(2)]
    try:
        for api in apis:
            api.start()
        yield [f"127.0.0.1:{api.port}" for api in apis]
    finally:
        for api in apis:
            api.stop()


def token(u: U) -> str:
    return u.headers["Authorization"].removeprefix("Bearer ")


def short_token(settings: Settings, user_id: str, seconds: int) -> str:
    now = int(time.time())
    payload = {
        "sub": user_id,
        "ver": 0,
        "typ": "access",
        "iat": now,
        "nbf": now,
        "exp": now + seconds,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(payload, settings.jwt_secret, algorithm=ALGORITHM)


async def closed(ws: Any, timeout: float) -> tuple[int | None, float]:
    """(close code, seconds waited) once the server closes `ws`; (None, timeout) if it
    stays open. Frames received meanwhile (heartbeats, events) are skipped."""
    t0 = time.monotonic()
    try:
        while (left := timeout - (time.monotonic() - t0)) > 0:
            await asyncio.wait_for(ws.recv(), left)
    except ConnectionClosed as exc:
        return (exc.rcvd.code if exc.rcvd else None), time.monotonic() - t0
    except TimeoutError:
        pass
    return None, timeout


async def still_open(ws: Any) -> bool:
    await ws.send("ping")
    try:
        while True:
            if '"pong"' in await asyncio.wait_for(ws.recv(), 5):
                return True
    except (ConnectionClosed, TimeoutError):
        return False


async def test_logout_closes_every_socket_of_the_user_on_every_worker(
    workers: list[str], neo: Any, settings: Settings
) -> None:
    w1, w2 = workers
    me, other = graph_users(neo, settings, 2)
    async with (
        websockets.connect(f"ws://{w1}/v1/ws?token={token(me)}") as on_w1,
        websockets.connect(f"ws://{w2}/v1/ws?token={token(me)}") as on_w2,
        websockets.connect(f"ws://{w2}/v1/ws?token={token(other)}") as bystander,
    ):
        assert await still_open(on_w1) and await still_open(on_w2)
        async with httpx.AsyncClient(base_url=f"http://{w1}") as c:
            r = await c.post("/v1/auth/logout", headers=me.headers)
        assert r.status_code == 204
        results = await asyncio.gather(closed(on_w1, 5), closed(on_w2, 5))
        for code, waited in results:
            assert code == 4001, results
            assert waited < CLOSE_WITHIN_S, results
        assert await still_open(bystander), "another user's socket was closed"


async def test_a_revoked_socket_gets_no_message_sent_after_the_logout(
    workers: list[str], neo: Any, settings: Settings
) -> None:
    w1, w2 = workers
    me, friend = graph_users(neo, settings, 2)
    neo.execute_query("MATCH (u:User {id: $id}) SET u.who_can_message = 'everyone'", id=me.id)
    async with websockets.connect(f"ws://{w2}/v1/ws?token={token(me)}") as ws:
        assert await still_open(ws)
        async with httpx.AsyncClient(base_url=f"http://{w1}") as c:
            assert (await c.post("/v1/auth/logout", headers=me.headers)).status_code == 204
            r = await c.post(
                "/v1/messages",
                json={"to": me.id, "text": "after the logout"},
                headers={**friend.headers, "Idempotency-Key": uuid.uuid4().hex},
            )
            assert r.status_code == 201, r.text
        frames: list[str | bytes] = []
        code = None
        deadline = time.monotonic() + 3
        try:
            while (left := deadline - time.monotonic()) > 0:
                frames.append(await asyncio.wait_for(ws.recv(), left))
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd else None
        except TimeoutError:
            pass
        assert [f for f in frames if "after the logout" in str(f)] == []
        assert code == 4001


async def test_a_role_change_closes_the_users_sockets(
    workers: list[str], neo: Any, settings: Settings
) -> None:
    w1, w2 = workers
    (me,) = graph_users(neo, settings, 1)
    async with (
        websockets.connect(f"ws://{w1}/v1/ws?token={token(me)}") as on_w1,
        websockets.connect(f"ws://{w2}/v1/ws?token={token(me)}") as on_w2,
    ):
        assert await still_open(on_w1) and await still_open(on_w2)
        result = await asyncio.to_thread(
            CliRunner().invoke, cli, ["grant-role", me.handle, "analyst"]
        )
        assert result.exit_code == 0, result.output
        results = await asyncio.gather(closed(on_w1, 5), closed(on_w2, 5))
        assert all(code == 4001 and waited < CLOSE_WITHIN_S for code, waited in results), results
    # The token itself is still good: a new socket opens under the new roles.
    async with websockets.connect(f"ws://{w1}/v1/ws?token={token(me)}") as again:
        assert await still_open(again)


async def test_account_deletion_closes_the_users_sockets(
    workers: list[str], neo: Any, settings: Settings
) -> None:
    w1, w2 = workers
    (me,) = graph_users(neo, settings, 1)
    async with websockets.connect(f"ws://{w2}/v1/ws?token={token(me)}") as ws:
        assert await still_open(ws)
        async with httpx.AsyncClient(base_url=f"http://{w1}") as c:
            assert (await c.delete("/v1/users/me", headers=me.headers)).status_code == 204
        code, waited = await closed(ws, 5)
        assert code == 4001 and waited < CLOSE_WITHIN_S, (code, waited)


async def test_a_socket_closes_when_its_token_expires(
    workers: list[str], neo: Any, settings: Settings
) -> None:
    w1, _ = workers
    (me,) = graph_users(neo, settings, 1)
    expiring = short_token(settings, me.id, 3)
    exp = jwt.decode(expiring, options={"verify_signature": False})["exp"]
    async with websockets.connect(f"ws://{w1}/v1/ws?token={expiring}") as ws:
        assert await still_open(ws)
        code, _ = await closed(ws, exp - time.time() + 5)
        late = time.time() - exp
        assert code == 4001, code
        assert 0 <= late < CLOSE_WITHIN_S, f"closed {late:.2f} s after exp"
