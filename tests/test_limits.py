"""Every limit the API enforces, at its boundary: body size, page sizes, field sizes, rate
limits, and WebSocket back-pressure (slow consumer).

Already covered elsewhere and not repeated here: a 70 kB body to an unknown route (413,
tests/test_schema_and_health.py), the send rate limit's count (tests/test_inbox.py), WebSocket
frame size (1009) and frame rate (1008) (tests/test_realtime.py).
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from api.main import create_app
from core.config import Settings
from redislayer import ratelimit
from seeds import bulk
from tests.apiproc import ApiProcess
from tests.factories import U, assert_error, graph_users
from tests.waiting import wait_until

pytestmark = pytest.mark.hardening

# ------------------------------------------------------------------ request body size


async def test_body_over_the_limit_on_a_real_route(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    (a,) = graph_users(neo, settings, 1)
    big = json.dumps({"text": "x" * settings.max_body_bytes}).encode()
    r = await client.post(
        "/v1/posts", content=big, headers={**a.headers, "content-type": "application/json"}
    )
    assert_error(r, 413, "payload_too_large")
    # Just under the limit, the body reaches validation (5,000 characters at most).
    ok = json.dumps({"text": "x" * (settings.max_body_bytes - 20)}).encode()
    assert len(ok) <= settings.max_body_bytes
    r = await client.post(
        "/v1/posts", content=ok, headers={**a.headers, "content-type": "application/json"}
    )
    assert_error(r, 422, "validation_error")


async def test_chunked_body_without_length_is_cut_at_the_limit(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    """No Content-Length: the middleware counts the streamed chunks and stops at the limit."""
    (a,) = graph_users(neo, settings, 1)
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"text": "'
        for _ in range(200):  # 200 x 1 kB, far past 64 kB if nobody stops reading
            sent += 1
            yield b"x" * 1024
        yield b'"}'

    r = await client.post(
        "/v1/posts", content=chunks(), headers={**a.headers, "content-type": "application/json"}
    )
    assert_error(r, 413, "payload_too_large")
    assert sent < 200, "the whole body was read"


async def test_chunked_body_over_the_limit_against_a_real_server(
    neo: Any, settings: Settings
) -> None:
    (a,) = graph_users(neo, settings, 1)
    with ApiProcess(settings) as api:
        reader, writer = await asyncio.open_connection("127.0.0.1", api.port)
        head = (
            "POST /v1/posts HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            f"Authorization: {a.headers['Authorization']}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n"
        ).encode()
        writer.write(head)
        chunk = b"x" * 8192
        try:
            for _ in range(20):  # 160 kB offered
                writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                await writer.drain()
        except ConnectionError:
            pass  # the server may stop reading once it has answered
        status_line = await asyncio.wait_for(reader.readline(), 10)
        writer.close()
        assert status_line.startswith(b"HTTP/1.1 413"), status_line


# ------------------------------------------------------------------ page and field sizes


def paged_operations() -> list[str]:
    """Every GET operation with a `limit` parameter, from the OpenAPI document."""
    doc = create_app().openapi()
    out = []
    for path, ops in doc["paths"].items():
        get = ops.get("get")
        if get and any(p["name"] == "limit" for p in get.get("parameters", [])):
            schema = next(p for p in get["parameters"] if p["name"] == "limit")["schema"]
            assert schema.get("maximum") == 100, f"{path}: limit is not capped at 100"
            out.append(path)
    return sorted(out)


PAGED = paged_operations()


def test_every_list_is_paged() -> None:
    assert len(PAGED) >= 12, PAGED


@pytest.fixture
def paging_world(neo: Any, settings: Settings) -> dict[str, Any]:
    me, other, common = graph_users(neo, settings, 3)
    bulk.friendships(neo, [{"a": me.id, "b": common.id}, {"a": other.id, "b": common.id}])
    bulk.posts(
        neo, [{"id": "pg1", "author_id": me.id, "text": "p", "created_at": datetime.now(UTC)}]
    )
    return {"me": me, "user_id": other.id, "post_id": "pg1"}


@pytest.mark.parametrize("path", PAGED)
async def test_page_size_is_capped(
    client: httpx.AsyncClient, paging_world: dict[str, Any], path: str
) -> None:
    me: U = paging_world["me"]
    url = path.format(user_id=paging_world["user_id"], post_id=paging_world["post_id"])
    params = {"prefix": "p"} if path == "/v1/users" else {}
    for bad in (101, 0, -1, 10**6):
        r = await client.get(url, params={**params, "limit": bad}, headers=me.headers)
        assert_error(r, 422, "validation_error")
    r = await client.get(url, params={**params, "limit": 100}, headers=me.headers)
    assert r.status_code == 200, r.text


FIELD_LIMITS: list[tuple[str, str, dict[str, Any], dict[str, str]]] = [
    # (method, path, body or query, extra headers) just past a documented bound -> 422
    ("POST", "/v1/users", {"handle": "h" * 31, "password": "x" * 12}, {}),
    ("POST", "/v1/users", {"handle": "okhandle", "password": "x" * 129}, {}),
    ("POST", "/v1/users", {"handle": "okhandle", "password": "x" * 9}, {}),
    ("PATCH", "/v1/users/me", {"bio": "b" * 281}, {}),
    ("PATCH", "/v1/users/me", {"display_name": "d" * 61}, {}),
    ("POST", "/v1/posts", {"text": "t" * 5001}, {}),
    ("POST", "/v1/posts/pg1/comments", {"text": "c" * 2001}, {}),
    ("POST", "/v1/messages", {"to": "x", "text": "m" * 4001}, {"Idempotency-Key": "k" * 16}),
    ("POST", "/v1/messages", {"to": "x", "text": "m"}, {"Idempotency-Key": "k" * 7}),
    ("POST", "/v1/messages", {"to": "x", "text": "m"}, {"Idempotency-Key": "k" * 65}),
    ("GET", "/v1/feed", {"cursor": "c" * 513}, {}),
    ("GET", "/v1/users", {"prefix": "p" * 31}, {}),
    ("GET", "/v1/users/" + "u" * 65, {}, {}),
    ("POST", "/v1/analytics/cypher", {"query": "RETURN 1", "row_cap": 10_001}, {}),
    ("POST", "/v1/analytics/cypher", {"query": "RETURN 1", "timeout": 31}, {}),
    ("POST", "/v1/analytics/cypher", {"query": "R" * 20_001}, {}),
    # Neo4j integers are 64-bit: a larger JSON integer is refused before the driver.
    ("POST", "/v1/analytics/cypher", {"query": "RETURN $n", "params": {"n": 2**63}}, {}),
    ("POST", "/v1/analytics/queries/most_connected", {"params": {"k": [[-(2**63) - 1]]}}, {}),
]


@pytest.mark.parametrize(("method", "path", "data", "extra"), FIELD_LIMITS)
async def test_field_bounds(
    client: httpx.AsyncClient,
    paging_world: dict[str, Any],
    neo: Any,
    method: str,
    path: str,
    data: dict[str, Any],
    extra: dict[str, str],
) -> None:
    me: U = paging_world["me"]
    neo.execute_query("MATCH (u:User {id: $id}) SET u.roles = ['analyst']", id=me.id)
    headers = {**me.headers, **extra}
    if method == "GET":
        r = await client.get(path, params=data, headers=headers)
    else:
        r = await client.request(method, path, json=data, headers=headers)
    assert_error(r, 422, "validation_error")


async def test_stream_id_bounds(client: httpx.AsyncClient, neo: Any, settings: Settings) -> None:
    """Message ids are Redis stream ids (two uint64): out-of-range ids are a 400, and the
    ends of the id space are empty pages, not a Redis error (which used to be a 503)."""
    a, b = graph_users(neo, settings, 2)
    history = f"/v1/conversations/{b.id}/messages"
    huge = "99999999999999999999-0"  # 20 digits, above 2**64 - 1
    for params in ({"before": huge}, {"after": huge}):
        assert_error(await client.get(history, params=params, headers=a.headers), 400)
    r = await client.get(history, params={"before": "0-0"}, headers=a.headers)
    assert r.status_code == 200 and r.json()["items"] == [], r.text
    top = f"{2**64 - 1}-0"  # the API's ids have at most 10 digits of sequence
    r = await client.get(history, params={"after": top}, headers=a.headers)
    assert r.status_code == 200 and r.json()["items"] == [], r.text
    r = await client.post(f"/v1/conversations/{b.id}/read", json={"up_to": huge}, headers=a.headers)
    assert_error(r, 400)


# ------------------------------------------------------------------ rate limits


def pin_the_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fixed windows: a burst that straddled two would rightly get two budgets, so the
    limiter's clock stands still for the test."""
    now = time.time()
    monkeypatch.setattr(ratelimit, "wall_clock", lambda: now)


async def test_login_rate_limit(
    client: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    handle, password = "ratelimited", "correct horse battery"
    r = await client.post("/v1/users", json={"handle": handle, "password": password})
    assert r.status_code == 201, r.text
    limit = settings.login_rate_per_minute
    pin_the_window(monkeypatch)
    for _ in range(limit):
        r = await client.post("/v1/auth/token", data={"username": handle, "password": "wrong!"})
        assert_error(r, 401)
    # Past the limit even the right password is refused, with Retry-After.
    r = await client.post("/v1/auth/token", data={"username": handle, "password": password})
    assert_error(r, 429, "rate_limited")
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert r.json()["error"]["details"] == {"limit": limit, "window_seconds": 60}
    # The key is (client, handle): another handle from the same client is not limited.
    r = await client.post("/v1/auth/token", data={"username": "someoneelse", "password": "x"})
    assert_error(r, 401)


async def test_send_rate_limit_answer(
    client: httpx.AsyncClient, neo: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The 429 itself: error body, Retry-After within the 10 s window (the count is
    tested in tests/test_inbox.py)."""
    a, b = graph_users(neo, settings, 2)
    neo.execute_query("MATCH (u:User {id: $id}) SET u.who_can_message = 'everyone'", id=b.id)
    pin_the_window(monkeypatch)
    statuses = []
    for i in range(settings.send_rate_per_10s + 1):
        r = await client.post(
            "/v1/messages",
            json={"to": b.id, "text": f"m{i}"},
            headers={**a.headers, "Idempotency-Key": uuid.uuid4().hex},
        )
        statuses.append(r.status_code)
    assert statuses[:-1] == [201] * settings.send_rate_per_10s
    assert_error(r, 429, "rate_limited")
    assert 1 <= int(r.headers["Retry-After"]) <= 10


# ------------------------------------------------------------------ WebSocket back-pressure


@pytest.fixture(scope="module")
def small_queue_api(settings: Settings) -> Iterator[ApiProcess]:
    """WS_QUEUE_SIZE=4 (below the 100-event read batch) and no practical send limit."""
    with ApiProcess(settings, WS_QUEUE_SIZE="4", SEND_RATE_PER_10S="1000000") as api:
        yield api


def token(u: U) -> str:
    return u.headers["Authorization"].removeprefix("Bearer ")


async def send_many(api: ApiProcess, a: U, b: U, n: int, text: str) -> None:
    async with httpx.AsyncClient(base_url=api.url, timeout=30) as c:
        sem = asyncio.Semaphore(8)

        async def one(i: int) -> None:
            async with sem:
                r = await c.post(
                    "/v1/messages",
                    json={"to": b.id, "text": f"{i:05d}{text}"},
                    headers={**a.headers, "Idempotency-Key": uuid.uuid4().hex},
                )
                assert r.status_code == 201, r.text

        await asyncio.gather(*(one(i) for i in range(n)))


@pytest.mark.timeout(120)
async def test_slow_consumer_is_closed_with_4008(
    small_queue_api: ApiProcess, neo: Any, settings: Settings
) -> None:
    """A client that stops reading while large messages arrive: the server's socket buffers
    fill, its queue fills and stays full past the grace period -> close 4008 after the
    events that were already on the wire."""
    api = small_queue_api
    a, b = graph_users(neo, settings, 2)
    neo.execute_query("MATCH (u:User {id: $id}) SET u.who_can_message = 'everyone'", id=b.id)
    before = api.metric("sg_ws_slow_consumers_total")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small receive window
    sock.connect(("127.0.0.1", api.port))
    # No compression (it would shrink the repetitive payload) and a one-frame client buffer:
    # the client stops reading the socket while this test does not call recv().
    async with websockets.connect(
        f"{api.ws_url}/v1/ws?token={token(b)}", sock=sock, max_queue=1, compression=None
    ) as ws:
        # 4,000 emoji: ~48 kB per event on the wire (JSON escapes each as \\ud83d\\ude00).
        await send_many(api, a, b, 100, "\U0001f600" * 3990)
        declared = await wait_until(
            lambda: api.metric("sg_ws_slow_consumers_total") != before, timeout=30
        )
        assert declared, "the server never declared a slow consumer"
        received = 0
        with pytest.raises(ConnectionClosed) as info:
            while True:
                await asyncio.wait_for(ws.recv(), 10)
                received += 1
    assert info.value.rcvd is not None and info.value.rcvd.code == 4008, info.value
    assert 0 < received < 100
    released = await wait_until(lambda: api.metric("sg_ws_connections") == 0, timeout=10)
    assert released, "the slow consumer's socket was not released"


@pytest.mark.timeout(120)
async def test_small_queue_still_delivers_a_backlog(
    small_queue_api: ApiProcess, neo: Any, settings: Settings
) -> None:
    """A reading client is never a slow consumer, even when it resumes with `since` far
    behind and the queue holds 4 events (reads are paced by the room in the queue)."""
    api = small_queue_api
    a, b = graph_users(neo, settings, 2)
    neo.execute_query("MATCH (u:User {id: $id}) SET u.who_can_message = 'everyone'", id=b.id)
    await send_many(api, a, b, 300, "x" * 2000)
    got: list[int] = []
    async with websockets.connect(f"{api.ws_url}/v1/ws?token={token(b)}&since=0-0") as ws:
        while len(got) < 300:
            event = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if event["type"] == "message":
                got.append(int(event["message"]["text"][:5]))
    assert sorted(got) == list(range(300))
