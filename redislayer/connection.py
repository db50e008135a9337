"""The Redis connection pool: created once in the app lifespan, with short timeouts.

Every Redis call is bounded (socket timeouts) so a slow or dead Redis degrades the
API instead of hanging it.
"""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from core.config import Settings


def open_redis(settings: Settings) -> aioredis.Redis:
    return aioredis.Redis.from_url(
        settings.redis_url,
        socket_timeout=settings.redis_timeout,
        socket_connect_timeout=settings.redis_timeout,
        health_check_interval=15,
        max_connections=200,
        decode_responses=True,
        retry_on_timeout=False,
        # One immediate retry on a broken connection: after a Redis restart every pooled
        # connection is stale and would otherwise fail one request each (tests/test_faults.py).
        # Timeouts are not retried, so a slow Redis still costs at most one socket timeout.
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    )
