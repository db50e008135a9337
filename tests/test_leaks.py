"""No leaks from clients that go away: 10,000 HTTP requests abandoned mid-flight and
WebSockets dropped in bulk, against a real API process, leave its file descriptors, its
connections to Neo4j and Redis, Neo4j's open transactions, its asyncio tasks and its
socket registry where they were.

The baseline is taken after a warm-up round of the same traffic at the same concurrency,
so connection pools have already grown to their working size (a pool that keeps idle
connections is not a leak); then the 10,000 operations run, the server is given a few
seconds to notice every disconnect, and everything is compared with the baseline.

Numbers seen are in docs/hardening.md; set LEAKS_REPORT=<file> to write them as JSON.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import random
import socket
import struct
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis

from core.config import Settings
from redislayer.connection import open_redis
from redislayer.realtime import Hub
from seeds import bulk
from tests.apiproc import ApiProcess
from tests.factories import U, graph_users

pytestmark = pytest.mark.hardening

TOTAL = 10_000
WARMUP = 1_000
CONCURRENCY = 64
SETTLE_DEADLINE = 30.0


def raw_request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def ws_frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame (payload < 126 bytes)."""
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked


class Traffic:
    """Clients that leave in every way a client can: after sending a request, before the
    body is complete, halfway through the headers, during and after a WebSocket handshake,
    with and without a close frame; by FIN or by RST."""

    def __init__(self, api: ApiProcess, users: list[U], seed: int) -> None:
        self.api = api
        self.users = users
        self.rng = random.Random(seed)
        self.kinds: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.api.port)

    def _leave(self, writer: asyncio.StreamWriter, rst: bool) -> None:
        if rst:  # SO_LINGER 0: close() sends RST, as a crashed client or a NAT timeout does
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.close()

    async def one(self) -> None:
        rng = self.rng
        u = rng.choice(self.users)
        auth = {"Authorization": u.headers["Authorization"]}
        kind = rng.choices(
            [
                "http_sent",
                "http_partial_body",
                "http_partial_headers",
                "ws_handshake",
                "ws_open",
                "ws_ping",
                "ws_close",
            ],
            [35, 15, 10, 10, 10, 10, 10],
        )[0]
        self.kinds[kind] += 1
        rst = rng.random() < 0.5
        try:
            reader, writer = await self._open()
        except OSError as exc:
            self.errors[f"connect {type(exc).__name__}"] += 1
            return
        try:
            if kind == "http_sent":
                path = rng.choice(
                    [
                        "/v1/suggestions",
                        "/v1/feed",
                        f"/v1/users/{rng.choice(self.users).id}",
                        "/readyz",
                    ]
                )
                writer.write(raw_request("GET", path, auth))
                await writer.drain()
                await asyncio.sleep(rng.uniform(0, 0.03))  # mid-flight: the app is working
            elif kind == "http_partial_body":
                body = json.dumps({"text": "half a post " * 20}).encode()
                headers = {
                    **auth,
                    "Content-Type": "application/json",
                    "Content-Length": str(len(body)),
                }
                writer.write(raw_request("POST", "/v1/posts", headers, body[: len(body) // 2]))
                await writer.drain()
                await asyncio.sleep(rng.uniform(0, 0.03))
            elif kind == "http_partial_headers":
                full = raw_request("GET", "/v1/suggestions", auth)
                writer.write(full[: len(full) // 2])
                await writer.drain()
            else:
                token = u.headers["Authorization"].removeprefix("Bearer ")
                key = base64.b64encode(os.urandom(16)).decode()
                writer.write(
                    raw_request(
                        "GET",
                        f"/v1/ws?token={token}",
                        {
                            "Upgrade": "websocket",
                            "Connection": "Upgrade",
                            "Sec-WebSocket-Key": key,
                            "Sec-WebSocket-Version": "13",
                        },
                    )
                )
                await writer.drain()
                if kind != "ws_handshake":
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
                    if not head.startswith(b"HTTP/1.1 101"):
                        self.errors[f"ws {head[:12]!r}"] += 1
                    if kind == "ws_ping":
                        writer.write(ws_frame(0x1, b"ping"))
                        await writer.drain()
                        await asyncio.sleep(rng.uniform(0, 0.03))
                    elif kind == "ws_close":
                        writer.write(ws_frame(0x8, struct.pack("!H", 1000)))
                        await writer.drain()
                        rst = False
        except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
            self.errors[f"{kind} {type(exc).__name__}"] += 1
        finally:
            self._leave(writer, rst)

    async def run(self, n: int) -> float:
        t0 = time.monotonic()
        todo = iter(range(n))

        async def worker() -> None:
            for _ in todo:
                await self.one()

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return time.monotonic() - t0


def neo4j_transactions(neo: Any) -> int:
    """Open transactions other than the one asking."""
    records, _, _ = neo.execute_query(
        "SHOW TRANSACTIONS YIELD currentQuery WHERE NOT currentQuery STARTS WITH 'SHOW' "
        "RETURN count(*) AS n"
    )
    return int(records[0]["n"])


def neo4j_connections(neo: Any) -> int:
    records, _, _ = neo.execute_query(
        "CALL dbms.listConnections() YIELD connectionId RETURN count(*) AS n"
    )
    return int(records[0]["n"])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def snapshot(api: ApiProcess, neo: Any, rds: redis.Redis) -> dict[str, float]:
    peers = api.tcp_peers()
    return {
        "fds": api.fd_count(),
        "api_clients_established": peers.get("clients", 0),
        "api_to_neo4j": peers.get("neo4j", 0),
        "api_to_redis": peers.get("redis", 0),
        "redis_connected_clients": int(rds.info("clients")["connected_clients"]),
        "neo4j_bolt_connections": neo4j_connections(neo),
        "neo4j_open_transactions": neo4j_transactions(neo),
        "asyncio_tasks": api.metric("sg_asyncio_tasks"),
        "ws_connections": api.metric("sg_ws_connections"),
        "rss_mb": round(rss_mb(api.pid), 1),
    }


def settle(api: ApiProcess, ok: Callable[[], bool]) -> float:
    """Give the server time to notice every disconnect; returns the seconds it took."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < SETTLE_DEADLINE:
        if ok():
            time.sleep(1.0)  # and stays so
            if ok():
                break
        time.sleep(0.5)
    return round(time.monotonic() - t0, 1)


@pytest.mark.timeout(1200)
async def test_abandoned_requests_and_dropped_sockets_leak_nothing(
    neo: Any, rds: redis.Redis, settings: Settings
) -> None:
    users = graph_users(neo, settings, 50, prefix="lk")
    bulk.friendships(neo, [{"a": users[i].id, "b": users[(i + 1) % 50].id} for i in range(50)])
    now = datetime.now(UTC)
    bulk.posts(
        neo,
        [
            {"id": f"lkp{i}", "author_id": users[i].id, "text": "p", "created_at": now}
            for i in range(50)
        ],
    )
    with ApiProcess(settings) as api:
        warm = Traffic(api, users, seed=1)
        await warm.run(WARMUP)
        warm_settle = await asyncio.to_thread(
            settle, api, lambda: api.metric("sg_ws_connections") == 0
        )
        base = await asyncio.to_thread(snapshot, api, neo, rds)

        traffic = Traffic(api, users, seed=2)
        seconds = await traffic.run(TOTAL)
        at_end = await asyncio.to_thread(snapshot, api, neo, rds)

        def back_to_baseline() -> bool:
            now = snapshot(api, neo, rds)
            return (
                now["ws_connections"] == 0
                and now["neo4j_open_transactions"] == 0
                and now["asyncio_tasks"] <= base["asyncio_tasks"] + 2
                and now["fds"] <= base["fds"] + 5
            )

        settled_s = await asyncio.to_thread(settle, api, back_to_baseline)
        after = await asyncio.to_thread(snapshot, api, neo, rds)
        alive = api.proc is not None and api.proc.poll() is None

    result = {
        "operations": TOTAL,
        "concurrency": CONCURRENCY,
        "seconds": round(seconds, 1),
        "kinds": dict(sorted(traffic.kinds.items())),
        "client_side_errors": dict(traffic.errors),
        "warmup_settle_s": warm_settle,
        "settle_s": settled_s,
        "baseline": base,
        "right_after_load": at_end,
        "after_settle": after,
    }
    if path := os.environ.get("LEAKS_REPORT"):
        Path(path).write_text(json.dumps(result, indent=1))  # noqa: ASYNC240 - once, at the end
    print(json.dumps(result, indent=1))

    assert alive
    assert after["ws_connections"] == 0
    assert after["neo4j_open_transactions"] == 0
    assert after["asyncio_tasks"] <= base["asyncio_tasks"] + 2
    assert after["fds"] <= base["fds"] + 5
    assert after["api_clients_established"] <= base["api_clients_established"] + 1
    assert after["api_to_neo4j"] <= base["api_to_neo4j"] + 5
    assert after["api_to_redis"] <= base["api_to_redis"] + 5
    assert after["redis_connected_clients"] <= base["redis_connected_clients"] + 5
    assert after["neo4j_bolt_connections"] <= base["neo4j_bolt_connections"] + 5
    assert after["rss_mb"] <= base["rss_mb"] + 50


@pytest.mark.timeout(300)
async def test_stopping_the_hub_never_hangs(settings: Settings) -> None:
    """The pub/sub listener is cancelled at shutdown; a cancellation swallowed inside a Redis
    call used to leave it looping and the app's shutdown waiting forever (40 of 300 stops
    hung in a reproduction). 100 start/stop cycles, each bounded."""
    client = open_redis(settings)
    hung = 0
    try:
        rng = random.Random(3)
        for _ in range(100):
            hub = Hub(client)
            hub.start()
            await asyncio.sleep(rng.uniform(0, 0.01))  # stop it anywhere in its loop
            stopping = asyncio.ensure_future(hub.stop())
            done, _ = await asyncio.wait({stopping}, timeout=5)
            if not done:
                hung += 1
                stopping.cancel()
    finally:
        await client.aclose()
    assert hung == 0, f"{hung} of 100 hub stops hung"
