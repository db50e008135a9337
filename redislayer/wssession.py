"""One WebSocket's life, from handshake to cleanup (the route only authenticates and
calls `serve`).

Protocol (docs/inbox.md): the token comes as `?token=` or as the subprotocol pair
`bearer, <token>`; a browser's Origin must be allowed (else close 4003); an invalid token
closes 4001; `since=<event id>` resumes after that event (a malformed one closes 1008; one
older than the stream's trimmed part first gets a `resync` frame). Then four tasks run
until one ends:

- guard: the socket is authorized for the principal its token spoke for at the handshake
  (user, token version, roles) and until the token's `exp`. When the hub announces that the
  user's principal changed (logout, role change, deletion; `realtime.Hub.revoke`), or lost
  its subscription, the guard re-checks the token; at `exp`, or if the token no longer
  speaks for that principal, the socket closes 4001 (1011 if the check itself failed);
- produce: reads the user's event stream (`realtime.read_events`) after the last event
  sent, woken by the hub or at each heartbeat interval, when it queues a `heartbeat` frame
  if there was nothing new; it reads nothing while a re-check is pending, so no event
  read after a revocation was announced reaches the socket;
- send: writes queued frames to the socket;
- receive: answers `"ping"` with `{"type": "pong"}`, ignores other frames, and ends the
  socket on a frame above WS_MAX_FRAME_BYTES (1009) or more than WS_FRAMES_PER_SECOND
  (1008).

A queue that stays full for `realtime.SLOW_CONSUMER_GRACE` seconds closes 4008. Other
close codes are in `redislayer/realtime.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from core import metrics
from core.config import Settings
from redislayer import realtime, rkeys
from redislayer.connection import REDIS_ERRORS
from redislayer.inbox import id_score, valid_id

CLOSE_SERVER_ERROR = 1011


@dataclass(frozen=True)
class Grant:
    """What a token speaks for now: the user, until when (the token's `exp`, seconds since
    the epoch), and the principal (token version, roles) a socket is authorized under: if
    it changes, the socket closes and the client reconnects under the new one."""

    user: str
    expires_at: float
    principal: tuple[object, ...]


log = logging.getLogger("socialgraph.realtime")

# The grant of a token now, or None (missing, invalid, expired or revoked). Raises if it
# cannot tell (a dependency is down).
Authenticate = Callable[[str | None], Awaitable[Grant | None]]


async def serve(
    ws: WebSocket,
    authenticate: Authenticate,
    redis: Any,
    hub: realtime.Hub,
    settings: Settings,
    *,
    token: str | None,
    since: str | None,
) -> None:
    """The handshake checks, then the session until the socket closes."""
    protocols = [p.strip() for p in ws.headers.get("sec-websocket-protocol", "").split(",")]
    subprotocol = None
    if len(protocols) == 2 and protocols[0] == "bearer":
        token, subprotocol = protocols[1], "bearer"
    origin = ws.headers.get("origin")
    # Browsers always send Origin; non-browser clients may omit it (they are not CSRF vectors).
    if origin is not None and origin not in settings.ws_allowed_origins:
        await ws.accept(subprotocol=subprotocol)
        await ws.close(code=realtime.CLOSE_ORIGIN, reason="origin not allowed")
        return
    try:
        grant = await authenticate(token)
    except Exception:
        log.warning("could not check a socket's token", exc_info=True)
        await ws.accept(subprotocol=subprotocol)
        await ws.close(code=CLOSE_SERVER_ERROR, reason="could not check the token; retry")
        return
    await ws.accept(subprotocol=subprotocol)
    if grant is None:
        await ws.close(code=realtime.CLOSE_UNAUTHORIZED, reason="invalid or missing token")
        return
    if since is not None and not valid_id(since):
        await ws.close(code=realtime.CLOSE_POLICY, reason="since must be an event id")
        return
    await Session(ws, redis, hub, settings, grant, authenticate, token).run(since)


class Session:
    """An accepted socket of an authenticated user: the four tasks and their shared state."""

    def __init__(
        self,
        ws: WebSocket,
        redis: Any,
        hub: realtime.Hub,
        settings: Settings,
        grant: Grant,
        authenticate: Authenticate,
        token: str | None,
    ) -> None:
        self.ws = ws
        self.redis = redis
        self.hub = hub
        self.settings = settings
        self.grant = grant
        self.user = grant.user
        self.authenticate = authenticate
        self.token = token
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=settings.ws_queue_size)
        self.close_code = 1000
        self.close_reason = ""

    async def run(self, since: str | None) -> None:
        metrics.WS_CONNECTIONS.inc()
        listener = self.hub.register(self.user)
        tasks = [
            asyncio.create_task(t)
            for t in (
                self._guard(listener),
                self._produce(since, listener),
                self._send(),
                self._receive(),
            )
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            disconnected = any(
                isinstance(t.exception(), WebSocketDisconnect)
                for t in done
                if not t.cancelled() and t.exception()
            )
            if not disconnected:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(
                        self.ws.close(code=self.close_code, reason=self.close_reason), timeout=2
                    )
        finally:
            # Cancel until done: a cancellation that lands inside a Redis call can be
            # swallowed by the client (seen with redis-py 8.1 on CPython 3.11), and a
            # producer that missed it would keep this socket's tasks and registration alive
            # (tests/test_leaks.py).
            pending = set(tasks)
            while pending:
                for t in pending:
                    t.cancel()
                _, pending = await asyncio.wait(pending, timeout=1.0)
            for t in tasks:  # retrieve what they raised (the WebSocketDisconnect, say)
                if not t.cancelled():
                    t.exception()
            self.hub.unregister(self.user, listener)
            metrics.WS_CONNECTIONS.dec()

    def _slow_consumer(self) -> None:
        metrics.WS_SLOW_CONSUMERS.inc()
        self.close_code = realtime.CLOSE_SLOW_CONSUMER

    async def _guard(self, listener: realtime.Listener) -> None:
        """Ends (closing the socket) at the token's `exp` or when a re-check finds that the
        token no longer speaks for the principal the socket was opened under."""
        while True:
            remaining = self.grant.expires_at - time.time()
            if remaining <= 0:
                self.close_code, self.close_reason = realtime.CLOSE_UNAUTHORIZED, "token expired"
                return
            try:
                await asyncio.wait_for(listener.recheck.wait(), timeout=remaining)
            except TimeoutError:
                continue
            listener.recheck.clear()
            try:
                now = await self.authenticate(self.token)
            except Exception:
                self.close_code = CLOSE_SERVER_ERROR
                self.close_reason = "could not re-check the token; reconnect"
                return
            if now is None or now.user != self.user or now.principal != self.grant.principal:
                self.close_code, self.close_reason = realtime.CLOSE_UNAUTHORIZED, "token revoked"
                return
            if not listener.recheck.is_set():  # else another announcement came meanwhile
                listener.trusted.set()

    async def _start(self, since: str | None) -> str:
        """The id to read after: the newest event for a new session (only what comes next
        is sent), else `since`, after queueing a `resync` if events after it were trimmed."""
        cursor = since
        try:
            if cursor is None:
                cursor = await realtime.last_event_id(self.redis, self.user)
            else:
                info = await self.redis.xinfo_stream(rkeys.user_events(self.user))
                trimmed = str(info.get("max-deleted-entry-id", "0-0"))
                if id_score(cursor) < id_score(trimmed):
                    self.queue.put_nowait(
                        {
                            "type": "resync",
                            "reason": f"events before {trimmed} were trimmed; reload over REST",
                        }
                    )
        except REDIS_ERRORS:
            cursor = cursor or "0-0"
        except Exception:  # noqa: S110 - a missing stream has no info: nothing was trimmed
            pass
        assert cursor is not None
        return cursor

    async def _produce(self, since: str | None, listener: realtime.Listener) -> None:
        cursor = await self._start(since)
        queue = self.queue
        wake = listener.wake
        while True:
            await listener.trusted.wait()  # a pending re-check blocks delivery
            # Read no more than fits, so a backlog (a resume with `since`) is paced by the
            # client instead of overflowing the queue; only a queue that stays full for
            # SLOW_CONSUMER_GRACE seconds makes a slow consumer.
            if not await realtime.wait_for_room(queue, realtime.SLOW_CONSUMER_GRACE):
                self._slow_consumer()
                return
            batch = min(realtime.READ_BATCH, queue.maxsize - queue.qsize())
            try:
                events = await realtime.read_events(self.redis, self.user, cursor, count=batch)
            except REDIS_ERRORS:
                events = []
            if not listener.trusted.is_set():
                continue  # announced during the read: re-read after the re-check
            for event in events:
                try:
                    queue.put_nowait(event)
                except asyncio.QueueFull:  # a pong took the room meanwhile
                    self._slow_consumer()
                    return
                cursor = event["event_id"]
            if len(events) == batch:
                continue
            try:
                await asyncio.wait_for(wake.wait(), timeout=self.settings.ws_heartbeat_seconds)
            except TimeoutError:
                try:
                    queue.put_nowait({"type": "heartbeat", "ts_ms": int(time.time() * 1000)})
                except asyncio.QueueFull:
                    self._slow_consumer()
                    return
            wake.clear()

    async def _send(self) -> None:
        while True:
            event = await self.queue.get()
            await self.ws.send_text(json.dumps(event, default=str))
            if event["type"] == "message":
                metrics.WS_EVENTS.inc()

    async def _receive(self) -> None:
        window, count = int(time.monotonic()), 0
        while True:
            frame = await self.ws.receive()
            if frame["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(frame.get("code", 1000))
            data = frame.get("text") or frame.get("bytes") or b""
            if len(data) > self.settings.ws_max_frame_bytes:
                self.close_code = realtime.CLOSE_TOO_BIG
                return
            now = int(time.monotonic())
            if now != window:
                window, count = now, 0
            count += 1
            if count > self.settings.ws_frames_per_second:
                self.close_code = realtime.CLOSE_POLICY
                return
            if data == "ping":
                with contextlib.suppress(asyncio.QueueFull):
                    self.queue.put_nowait({"type": "pong"})
