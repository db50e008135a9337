"""Read-your-own-writes across API processes: each user's last Neo4j bookmarks in Redis.

After a user's write commits, the driver's bookmarks for it are stored under
`rkeys.neo4j_bookmarks(user)` for NEO4J_BOOKMARK_TTL seconds; that user's next READ
transaction on any API process starts from them, so the server that runs it (a secondary
of a cluster) first catches up with that write (docs/routing.md). `UserBookmarks` is the
`graph.db.BookmarkCarrier` of one request: it asks Redis at most once, and only when a
read really goes to Neo4j (a cache hit never costs a round trip here).

Best effort: with Redis down or slow (short timeouts, then a breaker as the cache's) a
read starts without the bookmark and a write's bookmark is not kept; no request fails
for it. What is lost then is only the guarantee across processes: a read on another API
process may run on a secondary that has not applied the write yet (on one server, or
Aura's primary, nothing is lost).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from typing import Any

from prometheus_client import Counter

from redislayer import rkeys
from redislayer.cache import BREAKER_S
from redislayer.connection import REDIS_ERRORS, AsyncRedis

SKIPPED = Counter(
    "sg_neo4j_bookmarks_skipped_total",
    "Bookmarks not read (get) or not kept (put) because Redis failed or its breaker was open",
    ["op"],
)
log = logging.getLogger("socialgraph.bookmarks")


class BookmarkStore:
    """`graph.db.BookmarkSource` over Redis: one per process, made in the app lifespan."""

    def __init__(self, redis: AsyncRedis, ttl: float) -> None:
        self.redis: Any = redis  # decode_responses=True: replies are str
        self.ttl_ms = max(1, int(ttl * 1000))
        self._down_until = 0.0

    def for_user(self, user_id: str) -> UserBookmarks:
        return UserBookmarks(self, user_id)

    async def get(self, user_id: str) -> list[str]:
        if time.monotonic() < self._down_until:
            SKIPPED.labels("get").inc()
            return []
        try:
            raw = await self.redis.get(rkeys.neo4j_bookmarks(user_id))
        except REDIS_ERRORS as exc:
            self._tripped("get", exc)
            return []
        return raw.split() if raw else []

    async def put(self, user_id: str, bookmarks: Collection[str]) -> None:
        if not bookmarks:
            return
        if time.monotonic() < self._down_until:
            SKIPPED.labels("put").inc()
            return
        try:
            # The newest write's bookmarks replace the older ones: within one database a
            # later bookmark covers every earlier one. (Two writes of the same user racing
            # on two processes may leave the older: docs/routing.md, "Limits".)
            await self.redis.set(
                rkeys.neo4j_bookmarks(user_id), " ".join(sorted(bookmarks)), px=self.ttl_ms
            )
        except REDIS_ERRORS as exc:
            self._tripped("put", exc)

    def _tripped(self, op: str, exc: BaseException) -> None:
        SKIPPED.labels(op).inc()
        self._down_until = time.monotonic() + BREAKER_S
        log.warning("bookmark %s skipped: redis unavailable (%s)", op, type(exc).__name__)


class UserBookmarks:
    """`graph.db.BookmarkCarrier` of one user for one request."""

    def __init__(self, store: BookmarkStore, user_id: str) -> None:
        self.store = store
        self.user_id = user_id
        self._held: Collection[str] | None = None  # None: Redis not asked yet

    async def before_read(self) -> Collection[str]:
        if self._held is None:
            self._held = await self.store.get(self.user_id)
        return self._held

    async def after_write(self, bookmarks: Collection[str]) -> None:
        self._held = bookmarks  # later reads of this request need not ask Redis
        await self.store.put(self.user_id, bookmarks)
