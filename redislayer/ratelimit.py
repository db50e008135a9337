"""Fixed-window rate limits in Redis (shared by all workers), with a local fallback.

`hit` counts one action against one or more limits and raises `RateLimited` (429) past any
of them. When Redis is unreachable the caller chooses:

- `local_fallback=True` (login, registration): count in this process instead
  (`LocalWindows`), with the same limits and windows. Each worker counts on its own, so
  with N workers (or hosts) an address gets up to N times the limit while Redis is down;
  the counts start again from zero in Redis when it is back. A login still costs an
  Argon2id verification, so the bound matters most for sprays.
- `fail_open=True`: let the action through (no caller does any more);
- neither: fail closed with `Unavailable` (sends: they need Redis anyway).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

from prometheus_client import Counter

from core import metrics
from core.errors import RateLimited, Unavailable
from redislayer import rkeys
from redislayer.connection import REDIS_ERRORS, AsyncRedis

LOCAL_FALLBACK = Counter(
    "sg_rate_limit_local_total",
    "Rate-limit checks counted in this process because Redis was unreachable",
    ["action"],
)


def wall_clock() -> float:
    """Seconds since the epoch. One name so tests can pin the window."""
    return time.time()


@dataclass(frozen=True)
class Limit:
    """At most `limit` actions of kind `action` by `who` per fixed window of `window_s`."""

    who: str
    action: str
    limit: int
    window_s: int


class LocalWindows:
    """Fixed-window counters in this process, for while Redis is unreachable.

    Bounded: at most `max_keys` counters (about 200 bytes each). Past that, the counter
    counted least recently is dropped, so keys of past windows go first, and a counter hit
    on every attempt (an address's own) outlives the per-handle ones an attacker rotates.
    Not thread-safe; it is used from the event loop only (no await inside).
    """

    def __init__(self, max_keys: int = 10_000) -> None:
        self.max_keys = max_keys
        self._counts: OrderedDict[tuple[str, int], int] = OrderedDict()

    def __len__(self) -> int:
        return len(self._counts)

    def incr(self, key: str, window: int) -> int:
        slot = (key, window)
        count = self._counts.pop(slot, 0) + 1
        self._counts[slot] = count  # most recently counted last
        while len(self._counts) > self.max_keys:
            self._counts.popitem(last=False)
        return count


LOCAL = LocalWindows()


async def _count_in_redis(redis: AsyncRedis, key: str, window_s: int) -> int:
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, window_s * 2)
        count, _ = await pipe.execute()
    return int(count)


async def hit(
    redis: AsyncRedis,
    who: str,
    action: str,
    limit: int,
    window_s: int,
    *,
    fail_open: bool = False,
    local_fallback: bool = False,
) -> None:
    await hit_all(
        redis,
        [Limit(who, action, limit, window_s)],
        fail_open=fail_open,
        local_fallback=local_fallback,
    )


async def hit_all(
    redis: AsyncRedis,
    limits: list[Limit],
    *,
    fail_open: bool = False,
    local_fallback: bool = False,
) -> None:
    """Count one action against each limit in order; the first exceeded raises (later
    ones are not counted). One Redis round trip per limit: their keys live in different
    slots (`rkeys.rate` tags them by `who`). After a Redis error the remaining limits are
    counted locally at once, so a dead Redis costs one failed call, not one per limit."""
    redis_up = True
    for lim in limits:
        window = int(wall_clock()) // lim.window_s
        count: int | None = None
        if redis_up:
            try:
                count = await _count_in_redis(
                    redis, rkeys.rate(lim.who, lim.action, window), lim.window_s
                )
            except REDIS_ERRORS as exc:
                if not local_fallback:
                    if fail_open:
                        return
                    raise Unavailable("rate limiting is unavailable; retry shortly") from exc
                redis_up = False
        if count is None:
            LOCAL_FALLBACK.labels(lim.action).inc()
            count = LOCAL.incr(f"{lim.action}:{lim.who}", window)
        if count > lim.limit:
            metrics.RATE_LIMITED.labels(lim.action).inc()
            retry = lim.window_s - int(wall_clock()) % lim.window_s
            raise RateLimited(
                f"too many {lim.action} requests; retry in {retry}s",
                retry,
                {"limit": lim.limit, "window_seconds": lim.window_s},
            )
