"""Causal reads across API processes: Neo4j bookmarks in Redis (docs/routing.md).

Two entries, both with a TTL of NEO4J_BOOKMARK_TTL:

* `rkeys.neo4j_bookmarks(user)`: the bookmarks of that user's last write. That user's
  reads on any API process start from them (read-your-own-writes).
* `rkeys.neo4j_newest_write()`: the bookmark of the newest write any process committed.
  Every READ transaction that reaches Neo4j starts from it too, so a secondary first
  applies every write committed before the read began. Why: a write's cache bumps
  (api/invalidate.py) follow its commit, and another user's cache miss that saw a bump
  would otherwise read a secondary that has not applied the write yet and store that stale
  answer under the new version stamp, served to everyone until the next bump or the TTL.
  The write path stores this entry before it returns (graph/db.py awaits `after_write`),
  hence before the bumps; a read fetches it after the cache looked up its versions
  (it runs only on a miss, inside the computation), so a read that saw a bump also sees a
  bookmark at least as new as the write behind it.

Bookmarks of one database are ordered: a later one covers every earlier one, so one entry
is enough, if it never goes backwards. Two writers may store theirs in either order, so
the entry is written by a Lua compare on the transaction id parsed from the bookmark
(Neo4j 5's format, `parse_position`); a bookmark this module cannot parse replaces the
entry unconditionally (last writer wins: it may go backwards, logged once).

Cost: a write request stores both in one round trip (a pipeline); a READ transaction
asks once (the user's entry with the first read of the request only, both in one
pipeline of GETs: the keys live in different hash slots, so no MGET). A request answered
from the cache never asks. The newest-write entry is asked again for every later READ
transaction of the request: it must be read after that read's cache lookup (above).

Best effort: with Redis down or slow (short timeouts, then a breaker as the cache's) a
read starts without the bookmarks and a write's are not kept; no request fails for it,
and each skip is counted. What is lost then is the causal guarantee on a cluster only: a
read may run on a secondary that has not applied a recent write (docs/routing.md).
"""

from __future__ import annotations

import base64
import binascii
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

# KEYS[1] = the newest-write entry; ARGV = database uuid (hex), transaction id, bookmark,
# TTL ms. Keeps the entry when it already names a later (or the same) transaction of the
# same database; otherwise replaces it. Value: `<uuid>:<tx> <bookmark>`. A database uuid
# that differs (the database was recreated) replaces it: its transaction ids restarted.
# An empty ARGV[1] (a bookmark we could not parse) replaces unconditionally.
NEWEST = """
local cur = redis.call('GET', KEYS[1])
if cur and ARGV[1] ~= '' then
  local db, tx = string.match(cur, '^(%x+):(%d+) ')
  if db == ARGV[1] and tonumber(tx) >= tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. ARGV[2] .. ' ' .. ARGV[3], 'PX', ARGV[4])
return 1
"""

_INT_SIZES = {0xC8: 1, 0xC9: 2, 0xCA: 4, 0xCB: 8}


def parse_position(bookmarks: Collection[str]) -> tuple[str, int] | None:
    """(database uuid as hex, transaction id) of one Neo4j 5 bookmark, else None.

    The format (`FB:` + base64 of PackStream, as Neo4j 5.x and Aura write it): 0x91 0xCC
    0x10, the database's 16-byte uuid, the transaction id as a PackStream integer, 0x90.
    Anything else (several bookmarks, another format) is None: not ordered here."""
    if len(bookmarks) != 1:
        return None
    (bookmark,) = bookmarks
    if not bookmark.startswith("FB:"):
        return None
    try:
        raw = base64.b64decode(bookmark[3:], validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) < 21 or raw[:3] != b"\x91\xcc\x10" or raw[-1:] != b"\x90":
        return None
    body = raw[19:-1]
    marker = body[0]
    if marker < 0x80:  # tiny positive integer
        tx, size = marker, 1
    elif marker in _INT_SIZES:
        size = 1 + _INT_SIZES[marker]
        tx = int.from_bytes(body[1:size], "big", signed=True)
    else:
        return None
    if size != len(body) or tx < 0:
        return None
    return raw[3:19].hex(), tx


class BookmarkStore:
    """`graph.db.BookmarkSource` over Redis: one per process, made in the app lifespan."""

    def __init__(self, redis: AsyncRedis, ttl: float) -> None:
        self.redis: Any = redis  # decode_responses=True: replies are str
        self.ttl_ms = max(1, int(ttl * 1000))
        self._down_until = 0.0
        self._unordered_logged = False

    def for_user(self, user_id: str) -> UserBookmarks:
        return UserBookmarks(self, user_id)

    def for_anyone(self) -> UserBookmarks:
        """A request with no user yet (registration, login, token refresh): its reads
        start from the newest write, its writes become it."""
        return UserBookmarks(self, None)

    async def get(self, user_id: str | None) -> tuple[list[str], list[str]]:
        """(the user's last write's bookmarks, the newest write's), one round trip;
        without a user, the newest write's only. Whatever Redis failed to give is []."""
        if time.monotonic() < self._down_until:
            SKIPPED.labels("get").inc()
            return [], []
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                if user_id is not None:
                    pipe.get(rkeys.neo4j_bookmarks(user_id))
                pipe.get(rkeys.neo4j_newest_write())
                replies = await pipe.execute(raise_on_error=False)
        except REDIS_ERRORS as exc:
            self._tripped("get", exc)
            return [], []
        failed = next((r for r in replies if isinstance(r, BaseException)), None)
        if failed is not None:
            self._tripped("get", failed)
        own = replies[0] if user_id is not None else None
        newest = replies[-1]
        return (
            own.split() if isinstance(own, str) else [],
            # `<uuid>:<tx> <bookmark>`: the position is ours, not Neo4j's.
            newest.split()[1:] if isinstance(newest, str) else [],
        )

    async def put(self, user_id: str | None, bookmarks: Collection[str]) -> None:
        """After a commit: the user's entry (if any) and the newest write, one round trip."""
        if not bookmarks:
            return
        if time.monotonic() < self._down_until:
            SKIPPED.labels("put").inc()
            return
        position = parse_position(bookmarks)
        if position is None and not self._unordered_logged:
            self._unordered_logged = True
            log.warning("Neo4j bookmark format not recognised: the newest write is unordered")
        db, tx = position if position is not None else ("", 0)
        joined = " ".join(sorted(bookmarks))
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                if user_id is not None:
                    # The user's newest write replaces the older one. (Two writes of the
                    # same user racing on two processes may leave the older here; the
                    # newest-write entry, which is ordered, covers it.)
                    pipe.set(rkeys.neo4j_bookmarks(user_id), joined, px=self.ttl_ms)
                pipe.execute_command(
                    "EVAL", NEWEST, 1, rkeys.neo4j_newest_write(), db, tx, joined, self.ttl_ms
                )
                replies = await pipe.execute(raise_on_error=False)
        except REDIS_ERRORS as exc:
            self._tripped("put", exc)
            return
        failed = next((r for r in replies if isinstance(r, BaseException)), None)
        if failed is not None:
            self._tripped("put", failed)

    def _tripped(self, op: str, exc: BaseException) -> None:
        SKIPPED.labels(op).inc()
        self._down_until = time.monotonic() + BREAKER_S
        log.warning("bookmark %s skipped: redis unavailable (%s)", op, type(exc).__name__)


class UserBookmarks:
    """`graph.db.BookmarkCarrier` of one request: of a user, or of nobody yet (None)."""

    def __init__(self, store: BookmarkStore, user_id: str | None) -> None:
        self.store = store
        self.user_id = user_id
        self._own: Collection[str] | None = None  # None: the user's entry not asked yet

    async def before_read(self) -> Collection[str]:
        ask_own = self.user_id if self._own is None else None
        own, newest = await self.store.get(ask_own)
        if self._own is None:
            self._own = own
        return sorted({*self._own, *newest})

    async def after_write(self, bookmarks: Collection[str]) -> None:
        self._own = bookmarks  # later reads of this request need not ask for the user's
        await self.store.put(self.user_id, bookmarks)
