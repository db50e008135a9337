"""The cache: one computation under a stampede, negative caching, invalidation at once
after each kind of write, and Neo4j fallback when Redis is down."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import networkx as nx
from prometheus_client import REGISTRY

from api import services
from core.config import Settings
from graph.db import Graph
from redislayer.cache import Cache
from redislayer.connection import open_redis
from tests import redisstack
from tests.factories import U, graph_users, token_headers
from tests.graphs import load_graph, user_id
from tests.waiting import poll, wait_until


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def computes(kind: str) -> float:
    return sample("sg_cache_compute_total", kind=kind)


def queries(name: str) -> float:
    return sample("sg_neo4j_queries_total", query=name)


def star_of_friends(neo: Any, settings: Settings) -> list[U]:
    """0 is friends with 1..3; each of those is friends with 4..6: suggestions for 0 = 4..6."""
    g = nx.Graph([(0, 1), (0, 2), (0, 3), *((a, b) for a in (1, 2, 3) for b in (4, 5, 6))])
    load_graph(neo, g)
    return [U(user_id(n), f"user{n}", token_headers(settings, user_id(n))) for n in range(7)]


async def suggested(client: httpx.AsyncClient, u: U) -> list[str]:
    r = await client.get("/v1/suggestions", headers=u.headers)
    assert r.status_code == 200, r.text
    return [s["user"]["id"] for s in r.json()["items"]]


async def test_stampede_computes_once(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    users = star_of_friends(neo, settings)
    before = computes("sugg")
    rs = await asyncio.gather(
        *[client.get("/v1/suggestions", headers=users[0].headers) for _ in range(50)]
    )
    assert all(r.status_code == 200 for r in rs)
    assert len({r.text for r in rs}) == 1
    assert computes("sugg") - before == 1


async def test_stampede_across_processes_computes_once(
    app: Any, neo: Any, settings: Settings
) -> None:
    """Separate Cache objects (as in separate workers) share only Redis: the lock decides."""
    users = star_of_friends(neo, settings)
    graph: Graph = app.state.graph
    caches = []
    for _ in range(5):
        caches.append(Cache(open_redis(settings)))
    before = computes("sugg")
    try:
        pages = await asyncio.gather(
            *[
                services.suggestions(graph, caches[i % 5], users[0].id, "adamic_adar", 20, None)
                for i in range(50)
            ]
        )
    finally:
        for c in caches:
            await c.redis.aclose()
    assert len(set(pages)) == 1
    assert json.loads(pages[0])["items"]  # the one answer is a real, non-empty page
    assert computes("sugg") - before == 1


async def test_a_computation_overtaken_by_a_write_is_never_served(
    settings: Settings,
) -> None:
    """A read computes from the old state, a write commits and bumps the version meanwhile,
    then the read stores its answer: that answer must not be served afterwards."""
    cache = Cache(open_redis(settings))
    state = {"value": "old"}
    started, release = asyncio.Event(), asyncio.Event()

    async def compute() -> str:
        seen = state["value"]
        started.set()
        await release.wait()
        return seen

    async def read(fn: Any) -> Any:
        return await cache.get_or_compute(
            "test", ["k"], ["sg:ver:test:u"], fn, ttl=60, dump=json.dumps, load=json.loads
        )

    async def current() -> str:
        return state["value"]

    try:
        slow = asyncio.create_task(read(compute))
        await started.wait()
        state["value"] = "new"  # the write commits ...
        await cache.bump("test", ["u"])  # ... and then bumps, as api/invalidate.py does
        release.set()
        assert await slow == "old"  # that reader began before the write
        assert await read(current) == "new"  # nobody gets the overtaken answer
        assert await read(compute) == "new"  # and the fresh one is now cached
    finally:
        await cache.redis.aclose()


async def test_penetration_one_lookup_per_unknown_id(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    (viewer,) = graph_users(neo, settings, 1)
    unknown = [f"ghost{i}" for i in range(10)]
    before = queries("users.public_by_id")
    for _ in range(10):
        rs = await asyncio.gather(
            *[
                client.get(f"/v1/users/{uid}", headers=viewer.headers)
                for uid in unknown
                for _ in range(10)
            ]
        )
        assert all(r.status_code == 404 for r in rs), {(r.status_code, r.text[:300]) for r in rs}
    assert queries("users.public_by_id") - before <= len(unknown)


async def test_negative_cache_is_bounded(app: Any, rds: Any, monkeypatch: Any) -> None:
    from redislayer import cache as cache_mod

    cache: Cache = app.state.cache
    monkeypatch.setattr(cache_mod, "NEGATIVE_BUDGET", 50)
    # Pin the clock mid-window: the budget is per NEGATIVE_TTL window, and a loop that
    # straddled a window boundary would rightly get two budgets (CI saw 81 once).
    now = [1_000 * cache_mod.NEGATIVE_TTL + 1.0]
    monkeypatch.setattr(cache_mod, "wall_clock", lambda: now[0])
    for i in range(200):
        await cache.remember_missing("user", f"scan{i}")
    assert len(redisstack.keys(rds, "sg:neg:user:*")) == 50
    assert await cache.is_known_missing("user", "scan0")
    assert not await cache.is_known_missing("user", "scan199")

    # The next window brings a fresh budget, so at most twice the budget is ever alive.
    now[0] += cache_mod.NEGATIVE_TTL
    for i in range(200, 400):
        await cache.remember_missing("user", f"scan{i}")
    assert len(redisstack.keys(rds, "sg:neg:user:*")) == 100
    assert all(
        0 < rds.ttl(k) <= cache_mod.NEGATIVE_TTL for k in redisstack.keys(rds, "sg:neg:user:*")
    )


async def test_ttl_has_jitter(
    client: httpx.AsyncClient, neo: Any, settings: Settings, rds: Any
) -> None:
    """Entries filled together get TTLs spread over [0.8, 1.2] x 300 s. Without the jitter
    every TTL would be 300 s minus the seconds the test took, so the spread (at least 30 s
    expected out of 120 s) and the TTLs above 300 s are what prove it; with 35 samples a
    false failure with the jitter in place has a chance below 1e-6."""
    users = star_of_friends(neo, settings)
    for u in users:
        for limit in (1, 2, 3, 4, 5):
            r = await client.get("/v1/suggestions", params={"limit": limit}, headers=u.headers)
            assert r.status_code == 200, r.text
    ttls = [
        rds.pttl(k) for k in redisstack.keys(rds, "sg:cache3:sugg:*") if not k.endswith(":lock")
    ]
    assert len(ttls) == 35
    assert all(0.8 * 300_000 - 30_000 <= t <= 1.2 * 300_000 for t in ttls), sorted(ttls)
    assert max(ttls) - min(ttls) >= 30_000, sorted(ttls)
    assert any(t > 300_000 for t in ttls), sorted(ttls)
    assert any(t < 280_000 for t in ttls), sorted(ttls)


async def warm(client: httpx.AsyncClient, url: str, u: U) -> dict[str, Any]:
    first = await client.get(url, headers=u.headers)
    hits = sample("sg_cache_total", kind=url_kind(url), outcome="hit")
    second = await client.get(url, headers=u.headers)
    assert sample("sg_cache_total", kind=url_kind(url), outcome="hit") == hits + 1
    assert first.json() == second.json()
    return dict(second.json())


def url_kind(url: str) -> str:
    return "sugg" if "suggestions" in url else ("feed" if "feed" in url else "prof")


async def test_invalidation_new_friendship(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    users = star_of_friends(neo, settings)
    await warm(client, "/v1/suggestions", users[0])
    # 4 befriends a new user 7: 7 is now two hops from 1, so 1's suggestions change.
    (seven,) = graph_users(neo, settings, 1, prefix="n")
    await warm(client, "/v1/suggestions", users[1])
    assert seven.id not in await suggested(client, users[1])
    await client.post("/v1/friend-requests", json={"user_id": seven.id}, headers=users[4].headers)
    r = await client.post(f"/v1/friend-requests/{users[4].id}/accept", headers=seven.headers)
    assert r.status_code == 204
    assert seven.id in await suggested(client, users[1])


async def test_invalidation_unfriend_and_block_and_dismiss(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    users = star_of_friends(neo, settings)
    assert set(await suggested(client, users[0])) == {users[4].id, users[5].id, users[6].id}
    await client.post(f"/v1/suggestions/{users[6].id}/dismiss", headers=users[0].headers)
    assert set(await suggested(client, users[0])) == {users[4].id, users[5].id}
    await client.post("/v1/blocks", json={"user_id": users[5].id}, headers=users[0].headers)
    assert set(await suggested(client, users[0])) == {users[4].id}
    # Unfriending 1, 2 and 3 leaves 0 with no friends: cold start takes over.
    for f in users[1:4]:
        assert (
            await client.delete(f"/v1/friends/{f.id}", headers=users[0].headers)
        ).status_code == 204
    page = (await client.get("/v1/suggestions", headers=users[0].headers)).json()
    assert all(s["reason"] in ("popular", "requested_you") for s in page["items"])


async def test_invalidation_profile_cached_and_refreshed(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    a, b = graph_users(neo, settings, 2)
    before = await warm(client, f"/v1/users/{b.id}", a)
    assert before["is_friend"] is False and before["post_count"] == 0
    await client.post("/v1/posts", json={"text": "hello"}, headers=b.headers)
    after = (await client.get(f"/v1/users/{b.id}", headers=a.headers)).json()
    assert after["post_count"] == 1
    await client.post("/v1/friend-requests", json={"user_id": b.id}, headers=a.headers)
    await client.post(f"/v1/friend-requests/{a.id}/accept", headers=b.headers)
    after = (await client.get(f"/v1/users/{b.id}", headers=a.headers)).json()
    assert after["is_friend"] is True and after["friend_count"] == 1
    await client.patch("/v1/users/me", json={"bio": "new bio"}, headers=b.headers)
    assert (await client.get(f"/v1/users/{b.id}", headers=a.headers)).json()["bio"] == "new bio"
    await client.post("/v1/blocks", json={"user_id": a.id}, headers=b.headers)
    assert (await client.get(f"/v1/users/{b.id}", headers=a.headers)).status_code == 404


async def test_invalidation_new_post_and_like_reach_the_feed(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    a, b, c = graph_users(neo, settings, 3)
    for x, y in ((a, b), (b, c)):
        await client.post("/v1/friend-requests", json={"user_id": y.id}, headers=x.headers)
        await client.post(f"/v1/friend-requests/{x.id}/accept", headers=y.headers)
    assert (await warm(client, "/v1/feed", a))["items"] == []
    pid = (await client.post("/v1/posts", json={"text": "from b"}, headers=b.headers)).json()["id"]
    page = (await client.get("/v1/feed", headers=a.headers)).json()
    assert [i["post"]["id"] for i in page["items"]] == [pid]
    await warm(client, "/v1/feed", a)
    # c (not a's friend) posts; b (a's friend) likes it: a's feed shows it, liked by b.
    cid = (await client.post("/v1/posts", json={"text": "from c"}, headers=c.headers)).json()["id"]
    assert cid not in [
        i["post"]["id"] for i in (await client.get("/v1/feed", headers=a.headers)).json()["items"]
    ]
    await client.put(f"/v1/posts/{cid}/like", headers=b.headers)
    page = (await client.get("/v1/feed", headers=a.headers)).json()
    item = next(i for i in page["items"] if i["post"]["id"] == cid)
    assert item["post"]["like_count"] == 1
    assert {"code": "liked_by", "user": b.id} in [
        {"code": r["code"], "user": r["user"]["id"]} for r in item["reasons"]
    ]
    # A like by a third party on b's post updates the count a sees.
    await warm(client, "/v1/feed", a)
    await client.put(f"/v1/posts/{pid}/like", headers=c.headers)
    page = (await client.get("/v1/feed", headers=a.headers)).json()
    assert next(i for i in page["items"] if i["post"]["id"] == pid)["post"]["like_count"] == 1


async def test_redis_down_reads_fall_back_and_recover(
    app: Any, client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    users = star_of_friends(neo, settings)
    expected = await suggested(client, users[0])
    server = redisstack.server(settings)
    server.stop()
    try:
        before = sample("sg_cache_total", kind="sugg", outcome="fallback")
        t0 = time.perf_counter()
        assert await suggested(client, users[0]) == expected
        assert await suggested(client, users[0]) == expected
        assert time.perf_counter() - t0 < 3
        assert sample("sg_cache_total", kind="sugg", outcome="fallback") >= before + 2
        ready = await client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["redis"]["status"] == "down"
        # A write while Redis is down: committed in Neo4j, invalidation missed.
        r = await client.post(f"/v1/suggestions/{users[4].id}/dismiss", headers=users[0].headers)
        assert r.status_code == 204
    finally:
        server.start()
    # Reads use the cache again once the breaker re-closes (BREAKER_S after the last error),
    cache: Cache = app.state.cache
    assert await wait_until(lambda: cache.available, timeout=10), "the breaker stayed open"
    # and the missed invalidation is repaired with a global epoch bump.
    got = await poll(
        lambda: suggested(client, users[0]), lambda got: users[4].id not in got, timeout=10
    )
    assert set(got) == set(expected) - {users[4].id}
    assert (await client.get("/readyz")).status_code == 200
