"""Read-through cache for suggestions, feeds, profiles, principals and message permissions,
with versioned entries. What each kind of read depends on is declared in
`redislayer/cachepolicy.py`; this module is the mechanism.

Contract (details and reasoning in docs/caching.md):

- An entry records the values of the version counters (per user and global) it was
  computed under, and is served only while they are current. A write bumps the counters
  of everyone whose answer it changes, *after* the Neo4j commit, so a stale answer stops
  being served at once, even one stored after the bump by a read that began before it.
- TTLs carry +-20% jitter so entries filled together do not expire together.
- Single flight: in-process (one future per entry and versions) and across processes (a lock
  with an expiry); waiters poll for the value, and compute themselves only if the lock
  holder vanished, so a cold key under a burst costs one Neo4j computation.
- Negative cache: unknown ids are remembered for a short window, under a global budget
  per window so a scan of random ids cannot fill Redis without bound.
- Redis down or slow: every Redis call has a short timeout; failures trip a breaker
  for one second, reads go straight to Neo4j (counted as fallbacks), and a write whose
  invalidation could not be recorded schedules a global epoch bump for when Redis returns.
- Restart fence: a fenced read (principals) never trusts a Redis that restarted since the
  fence was last set; the first such read bumps the global epoch (see FENCE_SCRIPT).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

from redis.exceptions import NoScriptError, RedisError

from core import metrics
from redislayer import realtime, rkeys
from redislayer.cachepolicy import ALL, CachePolicy, Epoch, NegativeKind, Version
from redislayer.connection import REDIS_ERRORS, AsyncRedis, SyncRedis

log = logging.getLogger("socialgraph.cache")
T = TypeVar("T")
V = TypeVar("V")

GLOBAL = rkeys.epoch(ALL)
VERSION_TTL = 7 * 86400  # far above any cache TTL: a version key expiring cannot revive an entry
LOCK_MS = 5_000
POLL_S = 0.02
NEGATIVE_TTL = 60
NEGATIVE_BUDGET = 10_000  # negative entries per NEGATIVE_TTL window, across all processes
BREAKER_S = 1.0


def wall_clock() -> float:
    """Seconds since the epoch. One name so tests can pin the negative-cache window."""
    return time.time()


def _fresh(entry: str, stamp: str, seen: dict[str, str | None]) -> str | None:
    """The payload of a stored entry if it was computed under the current versions (and its
    optional dependencies still hold), else None. An entry is `<header JSON>\\n<payload
    JSON>`: JSON text never holds a raw newline, so a hit never parses the payload."""
    head, _, payload = entry.partition("\n")
    meta = json.loads(head)
    if meta.get("v") != stamp:
        return None
    deps: dict[str, str | None] = meta.get("o", {})
    if any(k not in seen or seen[k] != v for k, v in deps.items()):
        return None
    return payload


# A bump of a principal (`ver:auth:<u>`: logout, role change, deletion) is also a
# revocation: it is announced on `rkeys.AUTH_CHANNEL` in the same round trip, after the
# counter, so the user's open sockets re-check their token and read the new principal.
_PRINCIPAL_VERSION = rkeys.version("auth", "")


# The restart fence. Bumps can be lost: made while Redis was down (the writer can only
# schedule a repair in its own memory), acknowledged in the last second before a crash
# (the append-only file is fsynced every second), or, on a Redis Cluster, acknowledged by a
# primary whose replica took over before it had them (replication is asynchronous). Redis
# never persists its script cache, and Redis 7 does not replicate it: a node that restarted
# and a replica promoted to primary have forgotten this script. A fenced read
# (`CachePolicy.fenced`, the principal) reads every counter it depends on through this
# script (`_lookup`), so each node holding one of them is checked in the same round trip;
# a node that answers NOSCRIPT first has `epoch:all` moved to a value never used before
# (`REARM_JUMP`), then the script loaded again on every primary (`_rearm`). So no entry
# cached before a node lost bumps is served by a fenced read that depends on a counter of
# that node, whichever worker reads first, and whether or not the worker that lost a bump
# is still alive (tests/test_revocation_outage.py; on a cluster,
# tests/test_redis_cluster_api.py kills the primary holding the counter). What is not
# covered: unfenced reads before the first fenced read that touches the node, and a node
# that loses bumps again between a re-arm's epoch jump and its script load (one round trip).
FENCE_SCRIPT = (
    "return redis.call('GET', KEYS[1]) -- socialgraph cache fence: loaded after epoch:all moved"
)
FENCE_SHA = hashlib.sha1(FENCE_SCRIPT.encode(), usedforsecurity=False).hexdigest()  # its name
# How far a re-arm moves `epoch:all`: far beyond any number of its bumps a node can lose, so
# its new value was never used before, even when the node holding it lost bumps itself (on
# a cluster, entries on other nodes may be stamped with a value the epoch lost).
REARM_JUMP = 1_000_000


class FenceMissing(RedisError):
    """The fence vanished again right after it was set (SCRIPT FLUSH in between)."""


def _queue_bumps(pipe: Any, keys: Iterable[str]) -> None:
    for k in keys:
        pipe.incr(k)
        pipe.expire(k, VERSION_TTL)
        if k.startswith(_PRINCIPAL_VERSION):
            realtime.queue_revoke(pipe, k.removeprefix(_PRINCIPAL_VERSION), k)


def bump_now(client: SyncRedis, version: Version, user_ids: Iterable[str]) -> None:
    """`Cache.bump_versions` for a process without an event loop (the CLI). Raises
    RedisError: the caller says what a missed invalidation means (no repair task outlives a
    CLI call)."""
    with client.pipeline(transaction=False) as pipe:
        _queue_bumps(pipe, [rkeys.version(version, u) for u in set(user_ids)])
        pipe.execute()


class Cache:
    def __init__(self, redis: AsyncRedis) -> None:
        # redis-py's annotations ignore decode_responses=True; every reply here is str.
        self.redis: Any = redis
        self._inflight: dict[str, asyncio.Future[Any]] = {}
        self._down_until = 0.0
        self._needs_global_bump = False
        self._repair_task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------ redis guard

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _tripped(self, exc: BaseException) -> None:
        metrics.DEP_ERRORS.labels("redis").inc()
        self._down_until = time.monotonic() + BREAKER_S
        log.warning("redis unavailable (%s); serving from Neo4j", type(exc).__name__)

    # ------------------------------------------------------------ reads

    async def read(
        self,
        policy: CachePolicy,
        users: Sequence[str],
        parts: Iterable[str],
        compute: Callable[[], Awaitable[V]],
        *,
        dump: Callable[[V], str],
        load: Callable[[str], T],
        epochs: Iterable[Epoch] = (),
        depends: Callable[[V], Iterable[Epoch]] = lambda _: (),
    ) -> T:
        """A read of a declared kind: `get_or_compute` with the key and the counters taken
        from `policy`. `users` are the ids of `policy.users`, in order: the key starts with
        them, then `parts`, and the entry is stamped with their `policy.version` counters
        and `policy.epochs`. `epochs` names the `policy.request_epochs` this request
        depends on; `depends(value)` the `policy.answer_epochs` an answer depends on."""
        return await self.get_or_compute(
            policy.kind,
            [*users, *parts],
            policy.version_keys(users, epochs),
            compute,
            ttl=policy.ttl,
            dump=dump,
            load=load,
            optional=policy.answer_keys(),
            depends=lambda value: [policy.answer_key(e) for e in depends(value)],
            fenced=policy.fenced,
        )

    async def get_or_compute(
        self,
        kind: str,
        parts: Iterable[str],
        versions: Iterable[str],
        compute: Callable[[], Awaitable[V]],
        *,
        ttl: float,
        dump: Callable[[V], str],
        load: Callable[[str], T],
        optional: Iterable[str] = (),
        depends: Callable[[V], Iterable[str]] = lambda _: (),
        fenced: bool = False,
    ) -> T:
        """The key-level form of `read` (which service code uses, with a declared policy).

        `compute` gives a value, `dump` its JSON text (what is stored), `load` turns stored
        text into what the caller gets, on a hit and on a miss alike. A caller that returns
        the JSON as is (load = str) skips parsing and re-serializing on the hot path.

        The entry's key is `kind` + `parts`; the entry records the `versions` it was computed
        under, and a hit needs them equal to the current ones. `optional` counters are read
        too, but only those that `depends(value)` names are recorded and compared (e.g. a
        cold-start answer depends on the global popularity epoch). Versions and entry come
        back in one round trip (a pipeline of single-key commands: on Redis Cluster each
        goes to the node of its slot, one round trip per node, in parallel).
        `fenced`: the same round trip checks the restart fence (`_lookup`)."""

        async def computed() -> T:
            metrics.COMPUTE.labels(kind).inc()
            return load(dump(await compute()))

        if not self.available:
            metrics.CACHE.labels(kind, "fallback").inc()
            return await computed()
        version_keys = [GLOBAL, *versions]
        optional_keys = list(optional)
        key = rkeys.cached(kind, *parts)
        try:
            values, raw = await self._lookup(key, [*version_keys, *optional_keys], fenced)
        except REDIS_ERRORS as exc:
            self._tripped(exc)
            metrics.CACHE.labels(kind, "fallback").inc()
            return await computed()
        stamp = ".".join(v or "0" for v in values[: len(version_keys)])
        seen: dict[str, str | None] = dict(
            zip(optional_keys, values[len(version_keys) :], strict=True)
        )
        if raw is not None and (payload := _fresh(raw, stamp, seen)) is not None:
            metrics.CACHE.labels(kind, "hit").inc()
            return load(payload)
        metrics.CACHE.labels(kind, "miss").inc()

        async def computed_entry() -> tuple[str, T]:
            metrics.COMPUTE.labels(kind).inc()
            value = await compute()
            text = dump(value)
            used = {k: seen[k] for k in depends(value)}
            return json.dumps({"v": stamp, "o": used}) + "\n" + text, load(text)

        def decode(raw_entry: str) -> T | None:
            payload = _fresh(raw_entry, stamp, seen)
            return None if payload is None else load(payload)

        flight = f"{key}@{stamp}"  # one computation per entry and versions
        if (pending := self._inflight.get(flight)) is not None:
            result: T = await asyncio.shield(pending)
            return result
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._inflight[flight] = future
        try:
            value = await self._fill(key, flight, computed, computed_entry, ttl, decode)
            future.set_result(value)
            return value
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it; no "never retrieved" log
            raise
        finally:
            self._inflight.pop(flight, None)

    async def _lookup(
        self, key: str, counters: list[str], fenced: bool
    ) -> tuple[list[str | None], str | None]:
        """The counters' values and the entry, in one round trip. One command per key (no
        MGET: counters of different users live in different hash slots). A fenced read
        reads each counter through the fence script (`EVALSHA`, on the counter's node): a
        node without it has (re)started or taken over since the fence was last set and may
        have lost bumps, so the cache is re-armed (`_rearm`) and the read repeated."""
        for _ in range(2):
            async with self.redis.pipeline(transaction=False) as pipe:
                for counter in counters:
                    if fenced:  # `execute_command`: a cluster pipeline blocks `evalsha`
                        pipe.execute_command("EVALSHA", FENCE_SHA, 1, counter)
                    else:
                        pipe.get(counter)
                pipe.get(key)
                replies = await pipe.execute(raise_on_error=False)
            if fenced and any(isinstance(r, NoScriptError) for r in replies):
                await self._rearm()
                continue
            if failed := [r for r in replies if isinstance(r, Exception)]:
                raise failed[0]
            return replies[:-1], replies[-1]
        raise FenceMissing("the restart fence vanished again right after it was set")

    async def _rearm(self) -> None:
        """Hide every cached entry (`epoch:all` moved to a value never used), then set the
        fence (on every primary of a cluster): a reader that finds the fence finds the
        epoch moved, since the load starts only once the move is acknowledged."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.incrby(GLOBAL, REARM_JUMP)
            pipe.expire(GLOBAL, VERSION_TTL)
            await pipe.execute()
        await self.redis.script_load(FENCE_SCRIPT)
        log.warning("redis has no restart fence (a node restarted): global cache epoch moved")

    async def _fill(
        self,
        key: str,
        flight: str,
        computed: Callable[[], Awaitable[T]],
        computed_entry: Callable[[], Awaitable[tuple[str, T]]],
        ttl: float,
        decode: Callable[[str], T | None],
    ) -> T:
        lock = rkeys.lock(flight)
        try:
            holder = bool(await self.redis.set(lock, "1", nx=True, px=LOCK_MS))
        except REDIS_ERRORS as exc:
            self._tripped(exc)
            return await computed()
        if not holder:
            deadline = time.monotonic() + LOCK_MS / 1000
            while time.monotonic() < deadline:
                await asyncio.sleep(POLL_S)
                try:
                    raw = await self.redis.get(key)
                except REDIS_ERRORS as exc:
                    self._tripped(exc)
                    break
                if raw is not None and (found := decode(str(raw))) is not None:
                    return found
            return await computed()  # the holder vanished or Redis failed: compute ourselves
        try:
            entry, value = await computed_entry()
            jittered = int(ttl * 1000 * random.uniform(0.8, 1.2))  # noqa: S311 - not security
            try:
                async with self.redis.pipeline(transaction=False) as pipe:  # one round trip
                    pipe.set(key, entry, px=jittered)
                    pipe.delete(lock)
                    await pipe.execute()
            except REDIS_ERRORS as exc:
                self._tripped(exc)
            return value
        except BaseException:
            try:
                await self.redis.delete(lock)
            except REDIS_ERRORS:
                pass
            raise

    # ------------------------------------------------------------ invalidation

    async def bump_versions(self, version: Version, user_ids: Iterable[str]) -> None:
        """Hide every entry stamped with `ver:<version>` of one of `user_ids`."""
        await self.bump(version, user_ids)

    async def bump_epochs(self, *epochs: Epoch) -> None:
        """Hide every entry stamped with one of `epochs`."""
        if epochs:
            await self._bump_keys([rkeys.epoch(e) for e in epochs])

    async def bump(self, kind: str, user_ids: Iterable[str]) -> None:
        """`bump_versions` for any counter name, declared or not (the mechanism's tests use
        their own); everything else bumps declared names (tests/test_cache_policy.py)."""
        keys = [rkeys.version(kind, u) for u in set(user_ids)]
        if keys:
            await self._bump_keys(keys)

    async def _bump_keys(self, keys: list[str]) -> None:
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                _queue_bumps(pipe, keys)
                await pipe.execute()
        except REDIS_ERRORS as exc:
            # The write is committed in Neo4j, but Redis did not hear of it: once Redis is
            # back, invalidate everything rather than risk serving a stale answer.
            self._tripped(exc)
            self._schedule_global_bump()

    def _schedule_global_bump(self) -> None:
        self._needs_global_bump = True
        if self._repair_task is None or self._repair_task.done():
            self._repair_task = asyncio.get_running_loop().create_task(self._repair())

    async def _repair(self) -> None:
        while self._needs_global_bump:
            try:
                await self.redis.incr(GLOBAL)
                self._needs_global_bump = False
                log.info("redis is back: global cache epoch bumped")
            except REDIS_ERRORS:
                await asyncio.sleep(0.5)

    async def close(self) -> None:
        if self._repair_task is not None:
            self._repair_task.cancel()

    # ------------------------------------------------------------ negative cache

    async def is_known_missing(self, kind: NegativeKind, ident: str) -> bool:
        if not self.available:
            return False
        try:
            found = bool(await self.redis.exists(rkeys.negative(kind, ident)))
        except REDIS_ERRORS as exc:
            self._tripped(exc)
            return False
        metrics.NEGATIVE.labels(kind, "hit" if found else "miss").inc()
        return found

    async def remember_missing(self, kind: NegativeKind, ident: str) -> None:
        if not self.available:
            return
        # A fixed window: the budget counts entries written in this NEGATIVE_TTL window,
        # so at most 2 * NEGATIVE_BUDGET entries are alive at once (this window's and
        # the last one's, which expire within NEGATIVE_TTL).
        window = int(wall_clock()) // NEGATIVE_TTL
        budget = rkeys.negative_budget(window)
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.incr(budget)
                pipe.expire(budget, NEGATIVE_TTL * 2)
                used, _ = await pipe.execute()
            if used <= NEGATIVE_BUDGET:
                await self.redis.set(rkeys.negative(kind, ident), "1", ex=NEGATIVE_TTL)
        except REDIS_ERRORS as exc:
            self._tripped(exc)

    async def forget_missing(self, kind: NegativeKind, ident: str) -> None:
        try:
            await self.redis.delete(rkeys.negative(kind, ident))
        except REDIS_ERRORS as exc:
            self._tripped(exc)
