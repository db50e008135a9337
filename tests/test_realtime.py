"""Real-time delivery across two API processes, resume after reconnect, socket limits.

The workers run with the production heartbeat (20 s). A socket also re-reads its stream at
every heartbeat, so with a short heartbeat a broken pub/sub path would only delay delivery
and these tests would still pass; with 20 s, every event must come through pub/sub within
DELIVERY_S or the test fails (checked: with the PUBLISH of a send removed, the cross-worker
tests time out; with a 1 s heartbeat they passed that way).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
import websockets
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from core.config import Settings
from redislayer import rkeys
from tests.apiproc import ApiProcess
from tests.factories import U, graph_users

PRODUCTION_HEARTBEAT_S = Settings.model_fields["ws_heartbeat_seconds"].default
DELIVERY_S = 5.0  # far below the heartbeat: only pub/sub can deliver this fast


@pytest.fixture(scope="module")
def two_workers(settings: Settings) -> Iterator[list[str]]:
    """Two separate uvicorn processes on the same Neo4j and Redis (as two workers would be),
    with the production heartbeat (set explicitly, so the environment cannot shorten it)."""
    assert DELIVERY_S * 2 < PRODUCTION_HEARTBEAT_S
    apis = [
        ApiProcess(
            settings,
            WS_HEARTBEAT_SECONDS=str(PRODUCTION_HEARTBEAT_S),
            WS_FRAMES_PER_SECOND="5",
        )
        for _ in range(2)
    ]
    try:
        for api in apis:
            api.start()
        yield [f"127.0.0.1:{api.port}" for api in apis]
    finally:
        for api in apis:
            api.stop()


async def next_of(ws: Any, kind: str, timeout: float = DELIVERY_S) -> dict[str, Any]:
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

    missed = [await send(w1, a, b, f"missed {i}") for i in range(3)]
    async with websockets.connect(f"ws://{w2}/v1/ws?token={token(b)}&since={last_seen}") as ws:
        got_ids = [(await next_of(ws, "message"))["message"]["id"] for _ in missed]
    assert got_ids == [m["id"] for m in missed]


async def test_a_send_that_reloads_its_scripts_still_wakes_the_other_worker(
    two_workers: list[str], neo: Any, settings: Settings, rds: Any
) -> None:
    """A Redis without the inbox's scripts (restarted, a promoted replica, SCRIPT FLUSH)
    answers NOSCRIPT; the steps run again after loading them, and the wake-up must follow
    that re-run: the first announcement went out before the event existed."""
    w1, w2 = two_workers
    a, b = graph_users(neo, settings, 2)
    async with websockets.connect(f"ws://{w2}/v1/ws?token={token(b)}") as ws:
        await befriend(w1, a, b)
        await next_of(ws, "friend_request")
        rds.script_flush()
        sent = await send(w1, a, b, "after a script flush")
        got = await next_of(ws, "message")  # within DELIVERY_S, far below the heartbeat
        assert got["message"]["id"] == sent["id"]


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


async def test_an_idle_socket_gets_heartbeats(settings: Settings, neo: Any) -> None:
    (a,) = graph_users(neo, settings, 1)
    with ApiProcess(settings, WS_HEARTBEAT_SECONDS="0.5") as api:
        async with websockets.connect(f"{api.ws_url}/v1/ws?token={token(a)}") as ws:
            first = await next_of(ws, "heartbeat", timeout=3)
            second = await next_of(ws, "heartbeat", timeout=3)
    assert second["ts_ms"] > first["ts_ms"]


async def messages_on(ws: Any, n: int) -> list[dict[str, Any]]:
    """The next `n` message events, each within DELIVERY_S of the one before."""
    return [await next_of(ws, "message") for _ in range(n)]


async def test_every_socket_of_a_user_receives_every_message(
    two_workers: list[str], neo: Any, settings: Settings
) -> None:
    w1, w2 = two_workers
    a, b = graph_users(neo, settings, 2)
    await befriend(w1, a, b)
    urls = [f"ws://{w}/v1/ws?token={token(b)}" for w in (w1, w2, w2)]
    async with (
        websockets.connect(urls[0]) as s1,
        websockets.connect(urls[1]) as s2,
        websockets.connect(urls[2]) as s3,
    ):
        sent = [await send((w1, w2)[i % 2], a, b, f"to all {i}") for i in range(6)]
        got = await asyncio.gather(*(messages_on(s, len(sent)) for s in (s1, s2, s3)))
    want = [m["id"] for m in sent]
    for socket_events in got:
        assert [e["message"]["id"] for e in socket_events] == want
    # The same events (ids), so a client resuming on another socket drops duplicates.
    assert len({tuple(e["event_id"] for e in events) for events in got}) == 1


def event_stream(rds: redis.Redis, user: str) -> list[str]:
    """The message ids in the user's event stream, in stream order."""
    entries: list[tuple[str, dict[str, str]]] = rds.xrange(rkeys.user_events(user))  # type: ignore[assignment]
    return [json.loads(f["data"])["message"]["id"] for _, f in entries]


def as_key(stream_id: str) -> tuple[int, int]:
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq)


async def test_socket_events_follow_message_order_under_concurrent_sends(
    two_workers: list[str], neo: Any, settings: Settings, rds: redis.Redis
) -> None:
    """Four senders at once, each sending in turn through both workers, to one recipient
    with a socket on each worker. Each socket gets every message once, in the order of the
    recipient's event stream, and each conversation in its message order, the order of the
    history over REST."""
    w1, w2 = two_workers
    b, *senders = graph_users(neo, settings, 5)
    neo.execute_query("MATCH (u:User {id: $id}) SET u.who_can_message = 'everyone'", id=b.id)
    per_sender = 8

    async def sequence(i: int, a: U) -> list[str]:
        return [
            (await send((w1, w2)[(i + k) % 2], a, b, f"{a.id} #{k}"))["id"]
            for k in range(per_sender)
        ]

    total = per_sender * len(senders)
    async with (
        websockets.connect(f"ws://{w1}/v1/ws?token={token(b)}") as on_w1,
        websockets.connect(f"ws://{w2}/v1/ws?token={token(b)}") as on_w2,
    ):
        sent, *received = await asyncio.gather(
            asyncio.gather(*(sequence(i, a) for i, a in enumerate(senders))),
            messages_on(on_w1, total),
            messages_on(on_w2, total),
        )
    stream = event_stream(rds, b.id)
    async with httpx.AsyncClient(base_url=f"http://{w1}") as c:
        history = {
            a.id: [
                m["id"]
                for m in reversed(
                    (await c.get(f"/v1/conversations/{a.id}/messages", headers=b.headers)).json()[
                        "items"
                    ]
                )
            ]
            for a in senders
        }
    for events in received:
        ids = [e["message"]["id"] for e in events]
        assert ids == stream, "not in the order of the recipient's event stream"
        assert sorted(ids) == sorted(i for seq in sent for i in seq), "lost or duplicated"
        event_ids = [as_key(e["event_id"]) for e in events]
        assert event_ids == sorted(set(event_ids))
        for a, own in zip(senders, sent, strict=True):
            in_socket = [e["message"]["id"] for e in events if e["message"]["from_id"] == a.id]
            assert in_socket == own == history[a.id]
            assert in_socket == sorted(in_socket, key=as_key)


async def test_overlapping_sends_in_one_conversation_reach_the_socket_once_each(
    two_workers: list[str], neo: Any, settings: Settings, rds: redis.Redis
) -> None:
    """Sends that overlap in time have no order between them: the socket gets each message
    exactly once, in the order of the recipient's event stream, which may differ from their
    message ids (docs/inbox.md: clients sort a conversation by message id)."""
    w1, w2 = two_workers
    a, b = graph_users(neo, settings, 2)
    neo.execute_query("MATCH (u:User {id: $id}) SET u.who_can_message = 'everyone'", id=b.id)
    n = 20
    async with websockets.connect(f"ws://{w2}/v1/ws?token={token(b)}") as ws:
        sent, received = await asyncio.gather(
            asyncio.gather(*(send((w1, w2)[k % 2], a, b, f"burst {k}") for k in range(n))),
            messages_on(ws, n),
        )
    ids = [e["message"]["id"] for e in received]
    stream = event_stream(rds, b.id)
    assert ids == stream
    assert sorted(ids) == sorted(m["id"] for m in sent)
