"""The Redis connection pool: created once in the app lifespan, with short timeouts.

Every Redis call is bounded (socket timeouts) so a slow or dead Redis degrades the
API instead of hanging it.
"""

from __future__ import annotations

import redis.asyncio as aioredis

from socialgraph.config import Settings


def open_redis(settings: Settings) -> aioredis.Redis:
    return aioredis.Redis.from_url(
        settings.redis_url,
        socket_timeout=settings.redis_timeout,
        socket_connect_timeout=settings.redis_timeout,
        health_check_interval=15,
        max_connections=200,
        decode_responses=True,
        retry_on_timeout=False,
    )
