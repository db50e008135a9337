"""The inbox: permission rules, idempotent sends, history both ways, read state, limits,
durability across a SIGKILL (AOF), and 503 when Redis is down."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any, cast

import httpx
import pytest

from core.config import Settings
from redislayer.connection import open_sync_redis
from tests import redisstack
from tests.factories import U, assert_error, graph_users
from tests.waiting import wait_until


def key() -> str:
    return uuid.uuid4().hex


async def send(
    client: httpx.AsyncClient, a: U, b: U, text: str, idem: str | None = None
) -> httpx.Response:
    return await client.post(
        "/v1/messages",
        json={"to": b.id, "text": text},
        headers={**a.headers, "Idempotency-Key": idem or key()},
    )


async def befriend(client: httpx.AsyncClient, a: U, b: U) -> None:
    await client.post("/v1/friend-requests", json={"user_id": b.id}, headers=a.headers)
    r = await client.post(f"/v1/friend-requests/{a.id}/accept", headers=b.headers)
    assert r.status_code == 204


def redis_keys(rds: Any) -> list[str]:
    return sorted(
        k
        for k in rds.keys("sg:*")
        if ":rate:" not in k
        and ":ver:" not in k
        and ":epoch:" not in k
        and not k.startswith("sg:cache")
    )


async def test_who_can_message_and_blocks(
    client: httpx.AsyncClient, neo: Any, settings: Settings, rds: Any
) -> None:
    a, b, c = graph_users(neo, settings, 3)
    await befriend(client, a, b)
    assert (await send(client, a, b, "hi friend")).status_code == 201
    before = redis_keys(rds)
    assert_error(await send(client, c, b, "stranger"), 403)  # b: friends only (default)
    assert_error(await send(client, a, a, "me"), 400)
    assert_error(await send(client, a, U("nobody", "x", {}), "?"), 404)
    r = await client.post(
        "/v1/messages",
        json={"to": b.id, "text": ""},
        headers={**a.headers, "Idempotency-Key": key()},
    )
    assert_error(r, 422)
    r = await client.post(
        "/v1/messages",
        json={"to": b.id, "text": "x" * 4001},
        headers={**a.headers, "Idempotency-Key": key()},
    )
    assert_error(r, 422)
    r = await client.post("/v1/messages", json={"to": b.id, "text": "no key"}, headers=a.headers)
    assert_error(r, 422)
    assert redis_keys(rds) == before  # nothing written by any refusal
    await client.patch("/v1/users/me", json={"who_can_message": "everyone"}, headers=b.headers)
    assert (await send(client, c, b, "now allowed")).status_code == 201
    await client.patch("/v1/users/me", json={"who_can_message": "nobody"}, headers=b.headers)
    assert_error(await send(client, a, b, "even friends"), 403)
    await client.patch("/v1/users/me", json={"who_can_message": "everyone"}, headers=b.headers)
    await client.post("/v1/blocks", json={"user_id": c.id}, headers=b.headers)
    assert_error(await send(client, c, b, "blocked"), 404)
    assert_error(await send(client, b, c, "I blocked you"), 409)


async def test_idempotent_send(
    client: httpx.AsyncClient, neo: Any, settings: Settings, rds: Any
) -> None:
    a, b = graph_users(neo, settings, 2)
    await befriend(client, a, b)
    k = key()
    first = await send(client, a, b, "once", k)
    assert first.status_code == 201
    rs = await asyncio.gather(*[send(client, a, b, "once", k) for _ in range(10)])
    assert [r.status_code for r in rs] == [200] * 10, [r.text for r in rs]
    assert all(r.json() == first.json() for r in rs)
    assert rs[0].headers["Idempotent-Replayed"] == "true"
    assert_error(await send(client, a, b, "different body", k), 409)
    hist = (await client.get(f"/v1/conversations/{a.id}/messages", headers=b.headers)).json()
    assert [m["text"] for m in hist["items"]] == ["once"]
    ttl = rds.ttl(next(iter(rds.keys("sg:*:idem:*"))))
    assert ttl >= 24 * 3600


async def test_history_both_ways_and_read_state(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    a, b = graph_users(neo, settings, 2)
    await befriend(client, a, b)
    ids = []
    for i in range(7):
        ids.append((await send(client, a, b, f"m{i}")).json()["id"])
    url = f"/v1/conversations/{a.id}/messages"
    p1 = (await client.get(url, params={"limit": 3}, headers=b.headers)).json()
    assert [m["id"] for m in p1["items"]] == ids[::-1][:3]
    p2 = (
        await client.get(url, params={"limit": 3, "before": p1["older_cursor"]}, headers=b.headers)
    ).json()
    p3 = (
        await client.get(url, params={"limit": 3, "before": p2["older_cursor"]}, headers=b.headers)
    ).json()
    assert [m["id"] for m in p1["items"] + p2["items"] + p3["items"]] == ids[::-1]
    assert p3["older_cursor"] is None
    newer = (await client.get(url, params={"limit": 3, "after": ids[1]}, headers=b.headers)).json()
    assert [m["id"] for m in newer["items"]] == ids[2:5][::-1]
    assert newer["newer_cursor"] == ids[4]

    convs = (await client.get("/v1/conversations", headers=b.headers)).json()
    assert convs["items"][0]["unread"] == 7 and convs["items"][0]["last_message"]["id"] == ids[-1]
    assert (await client.get("/v1/messages/unread", headers=b.headers)).json() == {"total": 7}
    assert (await client.get("/v1/messages/unread", headers=a.headers)).json() == {"total": 0}
    r = await client.post(
        f"/v1/conversations/{a.id}/read", json={"up_to": ids[4]}, headers=b.headers
    )
    assert r.json() == {"read_up_to": ids[4]}
    # Never backwards.
    r = await client.post(
        f"/v1/conversations/{a.id}/read", json={"up_to": ids[1]}, headers=b.headers
    )
    assert r.json() == {"read_up_to": ids[4]}
    assert (await client.get("/v1/messages/unread", headers=b.headers)).json() == {"total": 2}
    assert_error(
        await client.post(
            f"/v1/conversations/{a.id}/read", json={"up_to": "1-1"}, headers=b.headers
        ),
        400,
    )
    assert_error(await client.get(url, params={"limit": 101}, headers=b.headers), 422)


async def test_conversation_list_pagination(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    users = graph_users(neo, settings, 6)
    me = users[0]
    await client.patch("/v1/users/me", json={"who_can_message": "everyone"}, headers=me.headers)
    for u in users[1:]:
        assert (await send(client, u, me, f"from {u.handle}")).status_code == 201
    seen = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/v1/conversations", params=params, headers=me.headers)).json()
        seen += [c["with_user_id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [u.id for u in users[1:]][::-1]


async def test_send_rate_limit(client: httpx.AsyncClient, neo: Any, settings: Settings) -> None:
    a, b = graph_users(neo, settings, 2)
    await befriend(client, a, b)
    codes = [
        (await send(client, a, b, f"m{i}")).status_code
        for i in range(2 * settings.send_rate_per_10s + 1)
    ]
    # The loop spans at most two 10 s windows, which admit 2 x limit sends at most.
    assert codes.count(429) >= 1 and codes.count(201) >= settings.send_rate_per_10s


async def test_redis_down_sends_503_fast(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    a, b = graph_users(neo, settings, 2)
    await befriend(client, a, b)
    server = redisstack.server(settings)  # on a cluster: every node
    server.stop()
    try:
        t0 = time.perf_counter()
        r = await send(client, a, b, "while down")
        assert time.perf_counter() - t0 < 1.0
        assert_error(r, 503, "unavailable")
    finally:
        server.start()  # returns once Redis answers PING: nothing left to wait for
    assert (await send(client, a, b, "back")).status_code == 201


@pytest.mark.timeout(240)
async def test_sigkill_during_sends_loses_no_acknowledged_message(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    users = graph_users(neo, settings, 21)
    target = users[0]
    await client.patch("/v1/users/me", json={"who_can_message": "everyone"}, headers=target.headers)
    server = redisstack.server(settings)  # on a cluster: every node
    acked: dict[str, tuple[str, str]] = {}  # idempotency key -> (message id, text)
    attempted: dict[str, tuple[U, str]] = {}

    async def sender(u: U, n: int) -> None:
        for i in range(n):
            k, text = key(), f"{u.handle}-{i}"
            attempted[k] = (u, text)
            try:
                r = await send(client, u, target, text, k)
            except httpx.HTTPError:
                continue
            if r.status_code == 201:
                acked[k] = (r.json()["id"], text)

    async def killer() -> None:
        await wait_until(lambda: len(acked) >= 500, timeout=120, interval=0.01)
        server.kill()  # SIGKILL: no shutdown save, only the AOF survives

    from redislayer import ratelimit

    old_hit = ratelimit.hit

    async def no_limit(*args: Any, **kwargs: Any) -> None:
        return None

    ratelimit.hit = no_limit
    try:
        await asyncio.gather(killer(), *[sender(u, 60) for u in users[1:]])  # 1,200 attempts
    finally:
        ratelimit.hit = old_hit
        server.start()
    assert len(acked) >= 500
    r = open_sync_redis(settings)
    stored: list[tuple[str, str]] = []
    for u in users[1:]:
        conv = "|".join(sorted((u.id, target.id)))
        entries = cast(list[tuple[str, dict[str, str]]], r.xrange(f"sg:{{c:{conv}}}:msgs"))
        stored += [(mid, f["text"]) for mid, f in entries]
    r.close()
    texts = [t for _, t in stored]
    assert len(texts) == len(set(texts)), "a message was stored twice"
    missing = [v for v in acked.values() if v not in stored]
    assert missing == [], f"{len(missing)} acknowledged messages lost"
