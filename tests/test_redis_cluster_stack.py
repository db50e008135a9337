"""A real Redis Cluster from the project's own files (issue 14, first slice): 3 primaries and
3 replicas of Debian's `redis-server`, started, created once, failed over, stopped, restarted
from their nodes.conf and reset by the devstack.

The cluster runs on its own ports (7400-7405, buses 17400-17405) and its own state dir under
tmp_path, never the test stack's, so this test needs no `stack`/`settings` fixture and does not
bring the test stack up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.cluster import ClusterNode, RedisCluster

from core.config import Settings
from socialgraph import devstack
from socialgraph.devstack import redis_cluster
from socialgraph.devstack.process import kill_pid, port_open
from tests.waiting import wait_until

pytestmark = pytest.mark.integration

BASE_PORT = 7400
PORTS = list(range(BASE_PORT, BASE_PORT + 6))


@pytest.fixture(autouse=True)
def clean() -> None:
    """Overrides conftest's `clean`: this test touches neither the test stack's graph nor its
    Redis, so it must not bring that stack up."""


@pytest.fixture
def cluster_settings(tmp_path: Path) -> Iterator[Settings]:
    s = Settings(
        SOCIALGRAPH_STATE_DIR=tmp_path / "state",
        # Ports nothing listens on: devstack.status/down look at them, never start them.
        REDIS_URL="redis://127.0.0.1:7398/0",
        NEO4J_URI="bolt://127.0.0.1:7399",
        REDIS_CLUSTER=True,
        REDIS_CLUSTER_PORT=BASE_PORT,
        REDIS_CLUSTER_NODE_TIMEOUT_MS=1000,
    )
    busy = [p for p in PORTS if port_open("127.0.0.1", p)]
    if busy:
        pytest.fail(f"ports {busy} are in use before the test: a previous run left nodes?")
    try:
        yield s
    finally:
        redis_cluster.RedisCluster(s).stop()  # always: a node left running holds its ports


def node(port: int) -> redis.Redis:
    return redis.Redis(port=port, decode_responses=True, socket_timeout=2)


def info(port: int) -> dict[str, str]:
    with node(port) as r:
        text: str = r.execute_command("CLUSTER", "INFO")
    return dict(line.split(":", 1) for line in text.split() if ":" in line)


def roles() -> list[str]:
    """The role of every node in node 7400's view ('master'/'slave'), failed ones left out."""
    with node(BASE_PORT) as r:
        text: str = r.execute_command("CLUSTER", "NODES")
    out = []
    for line in text.splitlines():
        flags = line.split()[2].split(",")
        if "fail" not in flags and "fail?" not in flags:
            out.append("master" if "master" in flags else "slave")
    return sorted(out)


def state_ok_everywhere(ports: list[int]) -> bool:
    try:
        return all(info(p).get("cluster_state") == "ok" for p in ports)
    except redis.RedisError:
        return False


def cluster_client() -> RedisCluster:
    return RedisCluster(
        startup_nodes=[ClusterNode("127.0.0.1", p) for p in PORTS],  # type: ignore[no-untyped-call]
        decode_responses=True,
        socket_timeout=2,
    )


def test_cluster_up_failover_down_restore_reset(cluster_settings: Settings) -> None:
    s = cluster_settings
    cluster = redis_cluster.RedisCluster(s)
    started = time.monotonic()

    # up: six nodes, created once, ok from every node, AOF on, 3 primaries + 3 replicas.
    msgs = devstack.redis_cluster_up(s)
    assert any("created" in m for m in msgs), msgs
    assert all(node(p).ping() for p in PORTS)
    assert state_ok_everywhere(PORTS)
    assert roles() == ["master"] * 3 + ["slave"] * 3
    for p in PORTS:
        with node(p) as r:
            assert r.config_get("appendonly") == {"appendonly": "yes"}
            assert r.config_get("appendfsync") == {"appendfsync": s.redis_appendfsync}
            assert r.config_get("cluster-node-timeout") == {"cluster-node-timeout": "1000"}
        assert (Path(s.state_dir) / "redis-cluster" / str(p) / "nodes.conf").is_file()
    with cluster_client() as rc:
        rc.set("greeting", "hello")
        assert rc.get("greeting") == "hello"
        owner = rc.get_node_from_key("greeting")
        assert owner is not None and owner.port is not None
        primary_port = int(owner.port)
        # Acknowledged by its replica before the primary dies, so the failover keeps it.
        assert rc.execute_command("WAIT", 1, 5000, target_nodes=owner) == 1
    pids = {st.address: st.pid for st in cluster.status()}
    assert all(pids.values()) and len(pids) == 6

    # up again with the cluster running: nothing changes.
    again = devstack.redis_cluster_up(s)
    assert all("already running" in m for m in again), again
    assert {st.address: st.pid for st in cluster.status()} == pids

    # status lists every node with its role; the single-server entries stay first.
    rows = devstack.status(s)
    assert [r.name for r in rows[:2]] == ["neo4j", "redis"]
    cluster_rows = rows[2:]
    assert sorted(r.address for r in cluster_rows) == [f"127.0.0.1:{p}" for p in PORTS]
    assert sorted(r.detail.split(",")[0] for r in cluster_rows) == ["primary"] * 3 + ["replica"] * 3

    # SIGKILL the key's primary: its replica is promoted and the cluster is ok again.
    victim = cluster.node(primary_port)
    victim_pid = victim.pid()
    assert victim_pid is not None
    kill_pid(victim_pid)
    rest = [p for p in PORTS if p != primary_port]
    promoted = asyncio.run(
        wait_until(
            lambda: state_ok_everywhere(rest) and roles() == ["master"] * 3 + ["slave"] * 2,
            timeout=20,
            interval=0.1,
        )
    )
    assert promoted, (roles(), {p: info(p).get("cluster_state") for p in rest})
    with cluster_client() as rc:
        assert rc.get("greeting") == "hello"

    # down: no node listens any more (the killed one included).
    down = devstack.down(s)
    assert sum("stopped" in m for m in down if "Cluster" in m) == 5, down
    assert not any(port_open("127.0.0.1", p) for p in PORTS)

    # up after down: restarted from nodes.conf (not created again), the key kept by AOF.
    restored = devstack.redis_cluster_up(s)
    assert not any("created" in m for m in restored), restored
    assert state_ok_everywhere(PORTS)
    assert roles() == ["master"] * 3 + ["slave"] * 3
    with cluster_client() as rc:
        assert rc.get("greeting") == "hello"

    # reset: stopped, and the state is gone.
    devstack.reset(s)
    assert not any(port_open("127.0.0.1", p) for p in PORTS)
    assert not (Path(s.state_dir) / "redis-cluster").exists()
    assert time.monotonic() - started < 50


def test_cluster_not_configured_leaves_the_stack_as_it_was(tmp_path: Path) -> None:
    """Without REDIS_CLUSTER (and no cluster state), status and down are the single server's."""
    s = Settings(
        SOCIALGRAPH_STATE_DIR=tmp_path / "state",
        REDIS_URL="redis://127.0.0.1:7398/0",
        NEO4J_URI="bolt://127.0.0.1:7399",
    )
    assert s.redis_cluster is False
    assert devstack.down(s) == ["Neo4j is not running", "Redis is not running"]
    assert [st.name for st in devstack.status(s)] == ["neo4j", "redis"]
    assert devstack.redis_cluster_up(s) == []
