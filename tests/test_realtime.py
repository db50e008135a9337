"""Real-time delivery across two API processes, resume after reconnect, socket limits."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from core.config import Settings
from tests.apiproc import ApiProcess
from tests.factories import U, graph_users


@pytest.fixture(scope="module")
def two_workers(settings: Settings) -> Iterator[list[str]]:
    """Two separate uvicorn processes on the same Neo4j and Redis (as two workers would be)."""
    apis = [
        ApiProcess(settings, WS_HEARTBEAT_SECONDS="1", WS_FRAMES_PER_SECOND="5") for _ in range(2)
    ]
    try:
        for api in apis:
            api.start()
        yield [f"127.0.0.1:{api.port}" for api in apis]
    finally:
        for api in apis:
            api.stop()


async def next_of(ws: Any, kind: str, timeout: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no {kind} event within {timeout}s"
        event = json.loads(await asyncio.wait_for(ws.recv(), remaining))
        if event["type"] == kind:
            return dict(event)


def token(u: U) -> str:
    return u.headers["Authorization"].removeprefix("Bearer ")


async def befriend(base: str, a: U, b: U) -> None:
    async with httpx.AsyncClient(base_url=f"http://{base}") as c:
        await c.post("/v1/friend-requests", json={"user_id": b.id}, headers=a.headers)
        r = await c.post(f"/v1/friend-requests/{a.id}/accept", headers=b.headers)
        assert r.status_code == 204


async def send(base: str, a: U, b: U, text: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=f"http://{base}") as c:
        r = await c.post(
            "/v1/messages",
            json={"to": b.id, "text": text},
            headers={**a.headers, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert r.status_code == 201, r.text
        return dict(r.json())


async def test_message_through_one_worker_reaches_socket_on_other(
    two_workers: list[str], neo: Any, settings: Settings
) -> None:
    w1, w2 = two_workers
    a, b = graph_users(neo, settings, 2)
    async with websockets.connect(f"ws://{w2}/v1/ws?token={token(b)}") as ws:
        await befriend(w1, a, b)
        # The request arrived on b's socket (held by worker 2) through worker 1.
        req = await next_of(ws, "friend_request")
        assert req["from"] == a.id
        sent = await send(w1, a, b, "across workers")
        got = await next_of(ws, "message")
        assert got["message"]["id"] == sent["id"] and got["message"]["text"] == "across workers"
        last_seen = got["event_id"]
        await next_of(ws, "heartbeat", timeout=3)

    missed = [await send(w1, a, b, f"missed {i}") for i in range(3)]
    async with websockets.connect(f"ws://{w2}/v1/ws?token={token(b)}&since={last_seen}") as ws:
        got_ids = [(await next_of(ws, "message"))["message"]["id"] for _ in missed]
    assert got_ids == [m["id"] for m in missed]


async def test_socket_refusals(two_workers: list[str], neo: Any, settings: Settings) -> None:
    w1, _ = two_workers
    (a,) = graph_users(neo, settings, 1)
    cases = [
        ({"origin": "http://evil.example"}, f"?token={token(a)}", 4003),
        ({}, "?token=not-a-token", 4001),
        ({}, "", 4001),
    ]
    for headers, query, code in cases:
        async with websockets.connect(f"ws://{w1}/v1/ws{query}", additional_headers=headers) as ws:
            with pytest.raises(ConnectionClosed) as info:
                await asyncio.wait_for(ws.recv(), 5)
            assert info.value.rcvd is not None and info.value.rcvd.code == code
    # Allowed origin and the subprotocol form of the token work.
    async with websockets.connect(
        f"ws://{w1}/v1/ws",
        additional_headers={"origin": "http://localhost:8000"},
        subprotocols=[Subprotocol("bearer"), Subprotocol(token(a))],
    ) as ws:
        await ws.send("ping")
        assert (await next_of(ws, "pong"))["type"] == "pong"


async def test_oversized_and_flooding_frames_are_closed(
    two_workers: list[str], neo: Any, settings: Settings
) -> None:
    w1, _ = two_workers
    (a,) = graph_users(neo, settings, 1)
    async with websockets.connect(f"ws://{w1}/v1/ws?token={token(a)}") as ws:
        await ws.send("x" * 5000)
        with pytest.raises(ConnectionClosed) as info:
            while True:
                await asyncio.wait_for(ws.recv(), 5)
        assert info.value.rcvd is not None and info.value.rcvd.code == 1009
    async with websockets.connect(f"ws://{w1}/v1/ws?token={token(a)}") as ws:
        with pytest.raises(ConnectionClosed) as info:
            for _ in range(50):
                await ws.send("ping")
            while True:
                await asyncio.wait_for(ws.recv(), 5)
        assert info.value.rcvd is not None and info.value.rcvd.code == 1008
