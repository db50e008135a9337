"""The local stack: a real Neo4j 5.26 Community server and a real Redis server, and on
request (`REDIS_CLUSTER`, `dev up --cluster`) a local Redis Cluster beside them.

There is no Docker engine on our machines, so the project runs the servers itself:
Neo4j from its jars on Maven Central (`neo4j_server`), Redis from Debian's
`redis-server` (`redis_server`; the cluster's six nodes: `redis_cluster`), all through the
process handling in `process` (pid files, spawning, waiting, stopping). This module is the
stack as a whole: `up`, `down`, `status` and `reset`, and the names callers use.

Everything lives under `Settings.state_dir` (data, logs, pid files, generated
configs); ports come from `NEO4J_URI` and `REDIS_URL` (Neo4j's HTTP port, for the Neo4j
Browser, from the Bolt port: `neo4j_server.http_port`), so a second stack (the test
stack) is just another state dir and another pair of ports.
"""

from __future__ import annotations

import shutil

from core.config import Settings
from socialgraph.devstack import redis_cluster
from socialgraph.devstack.neo4j_server import (
    JVM_FLAGS,
    NEO4J_ADMIN_MAIN,
    NEO4J_MAIN,
    Neo4jServer,
    browser_url,
    http_port,
)
from socialgraph.devstack.process import ServiceStatus, StackError, port_open, port_owner
from socialgraph.devstack.redis_cluster import RedisCluster
from socialgraph.devstack.redis_server import RedisServer

__all__ = [
    "JVM_FLAGS",
    "NEO4J_ADMIN_MAIN",
    "NEO4J_MAIN",
    "Neo4jServer",
    "RedisCluster",
    "RedisServer",
    "ServiceStatus",
    "StackError",
    "browser_lines",
    "browser_url",
    "down",
    "http_port",
    "port_open",
    "port_owner",
    "redis_cluster_up",
    "reset",
    "status",
    "up",
]


def up(settings: Settings) -> list[str]:
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    started = [RedisServer(settings).start(), Neo4jServer(settings).start()]
    return [*started, *redis_cluster_up(settings)]


def redis_cluster_up(settings: Settings) -> list[str]:
    """Start the local Redis Cluster when `REDIS_CLUSTER` is set (idempotent); nothing else."""
    if not settings.redis_cluster:
        return []
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    return RedisCluster(settings).start()


def down(settings: Settings) -> list[str]:
    msgs = [Neo4jServer(settings).stop(), RedisServer(settings).stop()]
    if redis_cluster.in_use(settings):
        msgs += RedisCluster(settings).stop()
    return msgs


def status(settings: Settings) -> list[ServiceStatus]:
    rows = [Neo4jServer(settings).status(), RedisServer(settings).status()]
    if redis_cluster.in_use(settings):
        rows += RedisCluster(settings).status()
    return rows


def browser_lines(settings: Settings) -> list[str]:
    """Where the Neo4j Browser is and what to log in with (`socialgraph dev status`)."""
    user_from = "NEO4J_USER" if "neo4j_user" in settings.model_fields_set else "the default"
    if "neo4j_password" in settings.model_fields_set:
        password = "the value of NEO4J_PASSWORD"  # noqa: S105 - where it is, not what
    else:
        password = (
            f"{settings.neo4j_password!r} (the local default: NEO4J_PASSWORD is not set; "
            "set it before the first `dev up` to choose another)"
        )
    return [
        f"Neo4j Browser: {browser_url(settings)} (HTTP on 127.0.0.1 only)",
        f"  connect to {settings.neo4j_uri} as {settings.neo4j_user!r} ({user_from}), "
        f"password {password}",
    ]


def reset(settings: Settings) -> list[str]:
    msgs = down(settings)
    if settings.state_dir.exists():
        shutil.rmtree(settings.state_dir)
        msgs.append(f"Removed {settings.state_dir}")
    return msgs
