"""Real-time delivery over WebSockets, across worker processes.

Events live in each user's Redis stream (`rkeys.user_events`), written by whichever worker
handled the send. A worker keeps one pub/sub subscription (`rkeys.EVENTS_CHANNEL`) whose
messages only say "user X has new events"; the worker then wakes its local sockets of X,
which read the stream from their last delivered id. So a socket on worker B gets a message
sent through worker A, and a client that reconnects with `since=<last event id>` gets
everything after it (at least once; event ids let it drop duplicates). Each socket also
re-reads its stream at every heartbeat, so a lost pub/sub message delays, never loses.
One socket's session (handshake checks, its tasks, heartbeat, resume) is
`redislayer/wssession.py`.

Revocation: the same subscription carries `rkeys.AUTH_CHANNEL`, on which every change of
a user's principal is announced (a bump of `ver:auth:<u>`, redislayer/cache.py: logout,
role change, account deletion). The hub marks that user's local sockets untrusted; each
re-checks its token before it reads another event and closes with 4001 if the token no
longer speaks for the principal it was opened under. Pub/sub is at most once: after the
subscription was lost (Redis restarted or unreachable) every local socket re-checks.

Close codes (documented in docs/inbox.md):
  4001 unauthorized, 4003 origin not allowed, 4008 slow consumer (queue full; reconnect
  with `since`), 1009 frame too large, 1008 client frame rate exceeded, 1011 server error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import defaultdict
from typing import Any

from redislayer import rkeys
from redislayer.connection import REDIS_ERRORS, AsyncRedis

log = logging.getLogger("socialgraph.realtime")

CLOSE_UNAUTHORIZED = 4001
CLOSE_ORIGIN = 4003
CLOSE_SLOW_CONSUMER = 4008
CLOSE_TOO_BIG = 1009
CLOSE_POLICY = 1008
READ_BATCH = 100
# A socket whose queue stays full this long is a slow consumer (closed with 4008).
SLOW_CONSUMER_GRACE = 5.0


# KEYS[1] the key whose change is announced (only routes the call: the script reads nothing)
# ARGV[1] the channel, ARGV[2] the payload
# A PUBLISH run on the node that holds KEYS[1], after the commands queued before it for that
# node. A plain PUBLISH has no key: on a cluster it would go to any node, in parallel with
# the pipeline's writes on the others, so a worker could be woken (and read the user's
# stream, or re-check the principal) before the event or the counter bump it announces
# exists there, and then wait for the next heartbeat (seen: tests/test_redis_cluster_api.py
# timed out on a fresh cluster). Published from a script, it still reaches subscribers on
# every node (the cluster bus carries it).
ANNOUNCE = "return redis.call('PUBLISH', ARGV[1], ARGV[2])"


def _queue_announce(pipe: Any, after: str, channel: str, user: str) -> None:
    # `execute_command`: a cluster pipeline blocks the `eval` family's methods, not commands.
    pipe.execute_command("EVAL", ANNOUNCE, 1, after, channel, user)


def queue_wake(pipe: Any, user: str) -> None:
    """Queue on a pipeline, after the write to `user`'s event stream, the announcement that
    `user` has new events. The one place that knows how workers are told (channel and
    command), for the inbox and the cache."""
    _queue_announce(pipe, rkeys.user_events(user), rkeys.EVENTS_CHANNEL, user)


def queue_revoke(pipe: Any, user: str, counter: str) -> None:
    """Queue on a pipeline, after the bump of `counter` (the user's principal version), the
    announcement that `user`'s principal changed."""
    _queue_announce(pipe, counter, rkeys.AUTH_CHANNEL, user)


async def announce_wake(redis: Any, user: str) -> None:
    """`queue_wake` on its own (one round trip)."""
    async with redis.pipeline(transaction=False) as pipe:
        queue_wake(pipe, user)
        await pipe.execute()


class Listener:
    """One socket's registration: `wake` is set when the user has new events; `trusted` is
    cleared and `recheck` set when the user's principal may have changed (the socket must
    re-check its token, then set `trusted` again, before reading more events)."""

    __slots__ = ("recheck", "trusted", "wake")

    def __init__(self) -> None:
        self.wake = asyncio.Event()
        self.recheck = asyncio.Event()
        self.trusted = asyncio.Event()
        self.trusted.set()

    def distrust(self) -> None:
        self.trusted.clear()
        self.recheck.set()
        self.wake.set()


class Hub:
    """Per-process registry of open sockets, woken by the Redis pub/sub channels."""

    def __init__(self, redis: AsyncRedis) -> None:
        self.redis = redis
        self._waiters: dict[str, set[Listener]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._listen())

    async def stop(self) -> None:
        if self._task:
            # Cancel until done: redis-py can swallow a cancellation that lands inside a
            # call (seen with 8.1 on CPython 3.11), and the listener would loop on while
            # the app's shutdown waited for it forever.
            while not self._task.done():
                self._task.cancel()
                await asyncio.wait({self._task}, timeout=1.0)
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def register(self, user: str) -> Listener:
        listener = Listener()
        self._waiters[user].add(listener)
        return listener

    def unregister(self, user: str, listener: Listener) -> None:
        waiters = self._waiters.get(user)
        if waiters is not None:
            waiters.discard(listener)
            if not waiters:
                del self._waiters[user]

    @property
    def connections(self) -> int:
        return sum(len(w) for w in self._waiters.values())

    def wake(self, user: str) -> None:
        for listener in self._waiters.get(user, ()):
            listener.wake.set()

    def revoke(self, user: str) -> None:
        """The user's principal changed: their sockets re-check their token."""
        for listener in self._waiters.get(user, ()):
            listener.distrust()

    def _missed(self) -> None:
        """Announcements may have been lost (no subscription for a while): every local
        socket re-reads its stream and re-checks its token."""
        for user in list(self._waiters):
            self.revoke(user)

    def _reconnected(self, _connection: object) -> None:
        # redis-py re-subscribes a pub/sub connection that broke by itself when Redis is
        # already back: nothing is raised, but what was published meanwhile is lost.
        self._missed()

    async def _listen(self) -> None:
        lost = False
        while True:
            pubsub = self.redis.pubsub()
            try:
                # A round trip first: it checks Redis is back before subscribing, and maps
                # a cluster client's slots (its pub/sub picks a node from that map).
                await self.redis.ping()
                await pubsub.subscribe(rkeys.EVENTS_CHANNEL, rkeys.AUTH_CHANNEL)
                if pubsub.connection is not None:
                    pubsub.connection.register_connect_callback(self._reconnected)
                if lost:  # subscribed again: what was announced meanwhile is re-checked
                    self._missed()
                    lost = False
                while True:
                    msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
                    if msg and msg.get("type") == "message":
                        if msg["channel"] == rkeys.AUTH_CHANNEL:
                            self.revoke(str(msg["data"]))
                        else:
                            self.wake(str(msg["data"]))
            except asyncio.CancelledError:
                raise
            except REDIS_ERRORS as exc:
                log.warning("pub/sub listener lost Redis (%s); retrying", type(exc).__name__)
                lost = True
                # Sockets still poll their streams at each heartbeat meanwhile.
                for user in list(self._waiters):
                    self.wake(user)
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]


async def last_event_id(redis: AsyncRedis, user: str) -> str:
    entries = await redis.xrevrange(rkeys.user_events(user), "+", "-", count=1)
    return str(entries[0][0]) if entries else "0-0"


async def oldest_event_id(redis: AsyncRedis, user: str) -> str | None:
    entries = await redis.xrange(rkeys.user_events(user), "-", "+", count=1)
    return str(entries[0][0]) if entries else None


async def wait_for_room(queue: asyncio.Queue[Any], seconds: float) -> bool:
    """True once the queue has a free slot; False if it stays full for `seconds`."""
    deadline = time.monotonic() + seconds
    while queue.full():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def read_events(
    redis: Any, user: str, after: str, count: int = READ_BATCH
) -> list[dict[str, Any]]:
    entries = await redis.xrange(rkeys.user_events(user), f"({after}", "+", count=count)
    out = []
    for event_id, fields in entries:
        payload = json.loads(fields["data"])
        payload["event_id"] = event_id
        out.append(payload)
    return out
