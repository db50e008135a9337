"""The Redis the tests use, single server or cluster (REDIS_CLUSTER=1, `make test-cluster`),
for tests that stop, kill or restart it, or list its keys.

On a cluster, "Redis is down" means every node is down (`WholeCluster`): the same outage
the single-server tests make, seen through the cluster client. Tests of one node's failure
(a failover) are cluster-only: tests/test_redis_cluster_api.py.
"""

from __future__ import annotations

import redis

from core.config import Settings
from redislayer.connection import SyncRedis
from socialgraph import devstack


class WholeCluster:
    """Every node of the local cluster at once, with `devstack.RedisServer`'s methods."""

    def __init__(self, settings: Settings) -> None:
        self.cluster = devstack.RedisCluster(settings)

    def pid(self) -> int | None:
        pids = [n.pid() for n in self.cluster.nodes]
        return pids[0] if all(p is not None for p in pids) else None

    def start(self, wait: float = 60.0) -> str:
        return "; ".join(self.cluster.start(wait))

    def stop(self) -> str:
        return "; ".join(self.cluster.stop())

    def kill(self) -> None:
        for node in self.cluster.nodes:
            node.kill()


RedisUnderTest = devstack.RedisServer | WholeCluster


def server(settings: Settings) -> RedisUnderTest:
    """What the app's Redis client talks to, to stop, kill or start it."""
    return WholeCluster(settings) if settings.redis_cluster else devstack.RedisServer(settings)


def keys(rds: SyncRedis, pattern: str) -> list[str]:
    """Every key matching `pattern` (SCAN: on a cluster, on every primary; KEYS would ask
    one node)."""
    return [str(k) for k in rds.scan_iter(match=pattern, count=1000)]


def config_set(rds: SyncRedis, name: str, value: str) -> None:
    """CONFIG SET on the server, or on every node of a cluster (a replica may become the
    primary)."""
    if isinstance(rds, redis.RedisCluster):
        rds.config_set(name, value, target_nodes=redis.RedisCluster.ALL_NODES)
    else:
        rds.config_set(name, value)


def down_settings(settings: Settings, port: int) -> Settings:
    """Settings whose Redis (server or cluster seed) is a closed port."""
    url = f"redis://127.0.0.1:{port}/0"
    return settings.model_copy(update={"redis_url": url, "redis_cluster_url": url})
