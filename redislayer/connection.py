"""The Redis connection pool: created once in the app lifespan, with short timeouts.

Every Redis call is bounded (socket timeouts) so a slow or dead Redis degrades the
API instead of hanging it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from core.config import Settings

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider


def open_redis(settings: Settings, tracer_provider: TracerProvider | None = None) -> aioredis.Redis:
    """With a tracer provider (api/tracing.py), a span per command or pipeline on this
    client only (opentelemetry-instrumentation-redis; arguments are not recorded)."""
    client = aioredis.Redis.from_url(
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
    if tracer_provider is not None:
        from opentelemetry.instrumentation.redis import RedisInstrumentor

        RedisInstrumentor.instrument_client(client, tracer_provider=tracer_provider)
    return client
