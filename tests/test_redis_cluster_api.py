"""The API on a real Redis Cluster (REDIS_CLUSTER=1; `make test-cluster` runs these with the
rest of the cluster subset): two API processes share one cluster, and a primary's failure.

Under `make test` (a single server) this file has nothing to test and says so at collection.
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

from core.config import Settings
from redislayer import realtime, rkeys
from redislayer.cache import BREAKER_S, FENCE_SHA
from redislayer.connection import open_redis
from socialgraph import devstack
from socialgraph.devstack.redis_cluster import RedisClusterNode
from tests import redisstack
from tests.apiproc import ApiProcess
from tests.factories import U, graph_users

pytestmark = pytest.mark.skipif(
    not Settings().redis_cluster, reason="needs REDIS_CLUSTER=1 (make test-cluster)"
)

DELIVERY_S = 5.0  # far below the production heartbeat (20 s): only pub/sub is this fast


@pytest.fixture
def two_apis(settings: Settings, rds: redis.RedisCluster) -> Iterator[list[ApiProcess]]:
    """Two API processes on the test cluster (they inherit REDIS_CLUSTER=1), each with its
    hub subscribed (on a cold cluster client that takes a slot-map read first, and a
    wake-up published before would wait for the next heartbeat)."""
    apis = [ApiProcess(settings, WS_HEARTBEAT_SECONDS="20") for _ in range(2)]
    try:
        for api in apis:
            api.start()
        deadline = time.monotonic() + 10
        while subscribers(rds) < len(apis):
            assert time.monotonic() < deadline, "the API processes' hubs did not subscribe"
            time.sleep(0.05)
        yield apis
    finally:
        for api in apis:
            api.stop()


def subscribers(rds: redis.RedisCluster) -> int:
    """Subscriptions to the wake-up channel, summed over every node."""
    rds.nodes_manager.initialize()
    counts = rds.execute_command(  # type: ignore[no-untyped-call]
        "PUBSUB NUMSUB", rkeys.EVENTS_CHANNEL, target_nodes=redis.RedisCluster.ALL_NODES
    )
    return sum(int(n) for _, n in counts)


def primary_port(rds: Any, key: str) -> int:
    """The port of the primary that holds `key`'s slot now (the slot map read afresh: an
    earlier test may have failed a primary over)."""
    rds.nodes_manager.initialize()
    node = rds.nodes_manager.get_node_from_slot(rds.keyslot(key))
    return int(node.port)


def token(u: U) -> str:
    return u.headers["Authorization"].removeprefix("Bearer ")


async def next_message(ws: Any) -> dict[str, Any]:
    deadline = time.monotonic() + DELIVERY_S
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no message event within {DELIVERY_S}s"
        event = json.loads(await asyncio.wait_for(ws.recv(), remaining))
        if event["type"] == "message":
            return dict(event)


async def test_cached_reads_sends_and_wake_ups_across_two_api_processes(
    two_apis: list[ApiProcess], neo: Any, rds: redis.RedisCluster, settings: Settings
) -> None:
    """A cached read on process A is stored in the cluster (its counters and entry in
    different slots and nodes: a cross-slot lookup would fall back to Neo4j and store
    nothing), an invalidation through B hides it, and a message sent through A reaches
    the recipient's socket on B through pub/sub, far before any heartbeat."""
    a, b = two_apis
    alice, bob = graph_users(neo, settings, 2, prefix="cl")
    neo.execute_query("MATCH (u:User {id: $id}) SET u.who_can_message = 'everyone'", id=bob.id)
    async with (
        httpx.AsyncClient(base_url=a.url, timeout=10) as on_a,
        httpx.AsyncClient(base_url=b.url, timeout=10) as on_b,
    ):
        for c in (on_a, on_b):
            r = await c.get(f"/v1/users/{bob.id}", headers=alice.headers)
            assert r.status_code == 200, r.text
        entries = redisstack.keys(rds, rkeys.cached("prof", alice.id, bob.id))
        assert entries, "the profile read stored no cache entry in the cluster"
        # What that read looked up in one round trip lives on several primaries.
        looked_up = [
            *entries,
            rkeys.epoch("all"),
            rkeys.version("prof", alice.id),
            rkeys.version("prof", bob.id),
        ]
        assert len({primary_port(rds, k) for k in looked_up}) >= 2

        r = await on_b.patch("/v1/users/me", json={"display_name": "Bob C."}, headers=bob.headers)
        assert r.status_code == 200, r.text
        r = await on_a.get(f"/v1/users/{bob.id}", headers=alice.headers)
        assert r.json()["display_name"] == "Bob C.", "process A served the entry B hid"

        # Resumed from before the first message, so a session that starts after it still
        # gets it; once it has, the session waits, and only a wake-up brings the second.
        async with websockets.connect(f"{b.ws_url}/v1/ws?token={token(bob)}&since=0-0") as ws:
            for text in ("first", "across the cluster"):
                sent = await on_a.post(
                    "/v1/messages",
                    json={"to": bob.id, "text": text},
                    headers={**alice.headers, "Idempotency-Key": uuid.uuid4().hex},
                )
                assert sent.status_code == 201, sent.text
                got = await next_message(ws)
                assert got["message"]["id"] == sent.json()["id"]


async def test_a_promoted_replica_serves_no_principal_cached_before_the_failover(
    two_apis: list[ApiProcess], neo: Any, rds: redis.RedisCluster, settings: Settings
) -> None:
    """The restart fence on a cluster (redislayer/cache.py, FENCE_SCRIPT): a user's token
    version changes in Neo4j and its Redis bump is lost, then the primary holding the
    user's principal counter is SIGKILLed and its replica (which never had the fence
    script: Redis 7 does not replicate it) takes over. From the kill on, neither process
    serves the principal cached before: every answer is 401, or 503 while no primary holds
    the slot, never 200 and never 500."""
    a, b = two_apis
    (u,) = graph_users(neo, settings, 1, prefix="fo")
    async with (
        httpx.AsyncClient(base_url=a.url, timeout=10) as on_a,
        httpx.AsyncClient(base_url=b.url, timeout=10) as on_b,
    ):
        for c in (on_a, on_b, on_a):
            assert (await c.get("/v1/users/me", headers=u.headers)).status_code == 200
        counter = rkeys.version("auth", u.id)
        port = primary_port(rds, counter)
        with redis.Redis(port=port, decode_responses=True, socket_timeout=2) as primary:
            assert primary.script_exists(FENCE_SHA) == [True]  # the fence stands there
        # The lost bump: the cached principal is still served while the fence stands ...
        neo.execute_query("MATCH (x:User {id: $id}) SET x.token_version = 1", id=u.id)
        assert (await on_b.get("/v1/users/me", headers=u.headers)).status_code == 200
        cluster = devstack.RedisCluster(settings)
        (replica,) = [n for n in cluster.nodes if n.replication().get("master_port") == str(port)]
        await asyncio.to_thread(cluster.node(port).kill)
        # ... and never once the primary holding its counter is gone.
        seen: list[int] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for c in (on_a, on_b):
                seen.append((await c.get("/v1/users/me", headers=u.headers)).status_code)
            if await asyncio.to_thread(promoted, cluster, replica):
                break
            await asyncio.sleep(0.1)
        else:
            pytest.fail("no replica took over within 30 s")
        # Past the breaker a failed call opened: these reads use the cache again.
        await asyncio.sleep(BREAKER_S + 0.5)
        for c in (on_b, on_a):
            seen.append((await c.get("/v1/users/me", headers=u.headers)).status_code)
    assert set(seen) <= {401, 503}, seen
    assert seen[-2:] == [401, 401], seen


def promoted(cluster: devstack.RedisCluster, replica: RedisClusterNode) -> bool:
    """Whether the dead primary's replica took over and the cluster is ok again."""
    live = [n for n in cluster.nodes if n.pid() is not None]
    return replica.replication().get("role") == "master" and all(
        n.cluster_info().get("cluster_state") == "ok" for n in live
    )


async def test_announcements_run_on_the_node_of_what_they_announce(
    rds: redis.RedisCluster, settings: Settings
) -> None:
    """A wake-up (revocation) is published by the primary that holds the user's event
    stream (principal counter), after the pipeline's writes there: a plain PUBLISH goes to
    any node, in parallel with them, and a worker woken by it may read before the write."""
    client = open_redis(settings)
    users = [f"an{i}" for i in range(12)]
    try:
        for user in users:
            counter = rkeys.version("auth", user)
            for kind, key in (("wake", rkeys.user_events(user)), ("revoke", counter)):
                before = publishes(rds)
                async with client.pipeline(transaction=False) as pipe:
                    if kind == "wake":
                        realtime.queue_wake(pipe, user)
                    else:
                        realtime.queue_revoke(pipe, user, counter)
                    await pipe.execute()
                after = publishes(rds)
                grew = {port for port in after if after[port] > before.get(port, 0)}
                assert grew == {primary_port(rds, key)}, (user, kind)
    finally:
        await client.aclose()


def publishes(rds: redis.RedisCluster) -> dict[int, int]:
    """PUBLISH calls each primary ran itself (INFO commandstats: a message a node only
    relays over the cluster bus is not a call there)."""
    rds.nodes_manager.initialize()
    counts = {}
    for node in rds.get_primaries():  # type: ignore[no-untyped-call]
        with redis.Redis(port=node.port, decode_responses=True, socket_timeout=2) as r:
            stats = r.info("commandstats")
        counts[int(node.port)] = int(stats.get("cmdstat_publish", {}).get("calls", 0))
    return counts
