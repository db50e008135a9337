"""The Redis clients: created once (the app lifespan, a CLI call), with short timeouts.

`REDIS_CLUSTER` chooses between a single Redis server (`REDIS_URL`) and a Redis Cluster
(`Settings.redis_cluster_seed_url`: one node is enough, the client discovers the others
and follows slot moves and failovers). Nothing else in the code asks which one it got:
every multi-key command, transaction and script touches one hash slot (`rkeys`), and
pipelines are split per node by the cluster client. This is the only place that builds a
client.

Every Redis call is bounded (socket timeouts) so a slow or dead Redis degrades the
API instead of hanging it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

import redis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException, RedisError
from redis.retry import Retry as SyncRetry

from core.config import Settings

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

# What `open_redis` / `open_sync_redis` return; code that takes a client takes these.
AsyncRedis: TypeAlias = aioredis.Redis | aioredis.RedisCluster
SyncRedis: TypeAlias = redis.Redis | redis.RedisCluster

MAX_CONNECTIONS = 200  # per process; on a cluster, per node

# redis-py 8.1's cluster client closes every connection of the client when one call or
# pipeline retries after a connection error or CLUSTERDOWN (`aclose`), also those other
# requests are connecting or writing on: these fail with an AttributeError (a writer gone)
# or uvloop's RuntimeError (a closed transport) instead of a ConnectionError (seen while
# cluster nodes shut down: 2 sends in 255 got 500 in tests/test_faults.py under
# `make test-cluster`; the inbox saw the same in bench/failover.py).
CLIENT_RACES: tuple[type[Exception], ...] = (AttributeError, RuntimeError)
# What a Redis call may raise when Redis is unavailable or slow, for `except` around Redis
# calls only: the cluster client's own errors (no reachable node to map the slots from, a
# slot no node covers) are not RedisErrors, nor are its races above; either would otherwise
# surface as a 500.
REDIS_ERRORS: tuple[type[Exception], ...] = (
    RedisError,
    OSError,
    RedisClusterException,
    *CLIENT_RACES,
)


def open_redis(settings: Settings, tracer_provider: TracerProvider | None = None) -> AsyncRedis:
    """The async client of the API and the CLI's service calls. With a tracer provider
    (api/tracing.py), a span per command or pipeline on this client only
    (opentelemetry-instrumentation-redis, which wraps cluster clients too; arguments are
    not recorded)."""
    client: AsyncRedis
    if settings.redis_cluster:
        client = aioredis.RedisCluster.from_url(
            settings.redis_cluster_seed_url,
            socket_timeout=settings.redis_timeout,
            socket_connect_timeout=settings.redis_timeout,
            health_check_interval=15,
            max_connections=MAX_CONNECTIONS,
            decode_responses=True,
            # The cluster client's retries (redis-py 8: only the count is used) re-read the
            # slot map after a connection error, a timeout or CLUSTERDOWN, so one retry
            # follows a failover that already happened or a restarted node's stale
            # connections; while no primary holds the slot the call fails within about
            # two socket timeouts (plus redis-py's fixed 0.25 s pause before a pipeline's
            # retry), and the API answers 503 (tests/test_redis_cluster_api.py).
            retry=Retry(NoBackoff(), 1),
        )
    else:
        client = aioredis.Redis.from_url(
            settings.redis_url,
            socket_timeout=settings.redis_timeout,
            socket_connect_timeout=settings.redis_timeout,
            health_check_interval=15,
            max_connections=MAX_CONNECTIONS,
            decode_responses=True,
            retry_on_timeout=False,
            # One immediate retry on a broken connection: after a Redis restart every pooled
            # connection is stale and would otherwise fail one request each
            # (tests/test_faults.py). Timeouts are not retried, so a slow Redis still costs
            # at most one socket timeout.
            retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        )
    if tracer_provider is not None:
        from opentelemetry.instrumentation.redis import RedisInstrumentor

        RedisInstrumentor.instrument_client(client, tracer_provider=tracer_provider)
    return client


def open_sync_redis(settings: Settings, timeout: float = 2.0) -> SyncRedis:
    """A blocking client for processes without an event loop (the CLI, tests), on the same
    server or cluster as `open_redis`; every call bounded by `timeout` seconds."""
    if settings.redis_cluster:
        return redis.RedisCluster.from_url(
            settings.redis_cluster_seed_url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            decode_responses=True,
            retry=SyncRetry(NoBackoff(), 1),
        )
    return redis.Redis.from_url(
        settings.redis_url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        decode_responses=True,
    )


async def ping(client: AsyncRedis) -> bool:
    """Whether every node that holds data answers: the server, or every primary of a
    cluster (a PING without a key reaches one node only). For readiness (/readyz)."""
    if isinstance(client, aioredis.RedisCluster):
        return bool(await client.ping(target_nodes=aioredis.RedisCluster.PRIMARIES))
    return bool(await client.ping())


def address(settings: Settings) -> str:
    """Where the clients connect, for messages: REDIS_URL, or the cluster's seed node."""
    return settings.redis_cluster_seed_url if settings.redis_cluster else settings.redis_url
