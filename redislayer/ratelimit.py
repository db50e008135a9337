"""Fixed-window rate limits in Redis (shared by all workers).

`hit` counts one action and raises `RateLimited` (429) past the limit. When Redis is unreachable the
caller decides: login fails open (the password check is still slow by design), sends
fail closed (they need Redis anyway).
"""

from __future__ import annotations

import time

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from core import metrics
from core.errors import RateLimited, Unavailable
from redislayer import rkeys


def wall_clock() -> float:
    """Seconds since the epoch. One name so tests can pin the window."""
    return time.time()


async def hit(
    redis: aioredis.Redis, who: str, action: str, limit: int, window_s: int, fail_open: bool
) -> None:
    window = int(wall_clock()) // window_s
    key = rkeys.rate(who, action, window)
    try:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, window_s * 2)
            count, _ = await pipe.execute()
    except (RedisError, OSError) as exc:
        if fail_open:
            return
        raise Unavailable("rate limiting is unavailable; retry shortly") from exc
    if int(count) > limit:
        metrics.RATE_LIMITED.labels(action).inc()
        retry = window_s - int(wall_clock()) % window_s
        raise RateLimited(
            f"too many {action} requests; retry in {retry}s",
            retry,
            {"limit": limit, "window_seconds": window_s},
        )
