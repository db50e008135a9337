"""WebSocket endpoint: `/v1/ws?token=<access token>&since=<last event id>`.

Pushes `message`, `friend_request` and `friend_request_accepted` events, each with an
`event_id`; `heartbeat` frames every WS_HEARTBEAT_SECONDS. Clients may send `"ping"`
(answered with `{"type": "pong"}`); anything else is ignored; frames above
WS_MAX_FRAME_BYTES or more than WS_FRAMES_PER_SECOND are closed. The token may also be
sent as the subprotocol pair `bearer, <token>` to keep it out of URLs and logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from redis.exceptions import RedisError

from api.deps import authenticate
from api.errors import ApiError
from core import metrics
from core.errors import DomainError
from redislayer import realtime, rkeys
from redislayer.inbox import id_score, valid_id

router = APIRouter()


async def _authenticate(ws: WebSocket, token: str | None) -> str | None:
    state = ws.app.state
    try:
        user = await authenticate(state.graph, state.cache, state.settings, token)
    except (ApiError, DomainError):
        return None
    return user.id


@router.websocket("/ws")
async def websocket(ws: WebSocket, token: str | None = None, since: str | None = None) -> None:
    settings = ws.app.state.settings
    redis = ws.app.state.redis
    hub: realtime.Hub = ws.app.state.hub
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
    user = await _authenticate(ws, token)
    await ws.accept(subprotocol=subprotocol)
    if user is None:
        await ws.close(code=realtime.CLOSE_UNAUTHORIZED, reason="invalid or missing token")
        return
    if since is not None and not valid_id(since):
        await ws.close(code=realtime.CLOSE_POLICY, reason="since must be an event id")
        return

    metrics.WS_CONNECTIONS.inc()
    wake = hub.register(user)
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=settings.ws_queue_size)
    close_code = 1000

    async def produce() -> None:
        nonlocal close_code
        cursor = since
        try:
            if cursor is None:
                cursor = await realtime.last_event_id(redis, user)
            else:
                info = await redis.xinfo_stream(rkeys.user_events(user))
                trimmed = str(info.get("max-deleted-entry-id", "0-0"))
                if id_score(cursor) < id_score(trimmed):
                    queue.put_nowait(
                        {
                            "type": "resync",
                            "reason": f"events before {trimmed} were trimmed; reload over REST",
                        }
                    )
        except RedisError:
            cursor = cursor or "0-0"
        except Exception:  # noqa: S110 - a missing stream has no info: nothing was trimmed
            pass
        assert cursor is not None
        while True:
            # Read no more than fits, so a backlog (a resume with `since`) is paced by the
            # client instead of overflowing the queue; only a queue that stays full for
            # SLOW_CONSUMER_GRACE seconds makes a slow consumer.
            if not await realtime.wait_for_room(queue, realtime.SLOW_CONSUMER_GRACE):
                metrics.WS_SLOW_CONSUMERS.inc()
                close_code = realtime.CLOSE_SLOW_CONSUMER
                return
            batch = min(realtime.READ_BATCH, queue.maxsize - queue.qsize())
            try:
                events = await realtime.read_events(redis, user, cursor, count=batch)
            except (RedisError, OSError):
                events = []
            for event in events:
                try:
                    queue.put_nowait(event)
                except asyncio.QueueFull:  # a pong took the room meanwhile
                    metrics.WS_SLOW_CONSUMERS.inc()
                    close_code = realtime.CLOSE_SLOW_CONSUMER
                    return
                cursor = event["event_id"]
            if len(events) == batch:
                continue
            try:
                await asyncio.wait_for(wake.wait(), timeout=settings.ws_heartbeat_seconds)
            except TimeoutError:
                try:
                    queue.put_nowait({"type": "heartbeat", "ts_ms": int(time.time() * 1000)})
                except asyncio.QueueFull:
                    metrics.WS_SLOW_CONSUMERS.inc()
                    close_code = realtime.CLOSE_SLOW_CONSUMER
                    return
            wake.clear()

    async def send() -> None:
        while True:
            event = await queue.get()
            await ws.send_text(json.dumps(event, default=str))
            if event["type"] == "message":
                metrics.WS_EVENTS.inc()

    async def receive() -> None:
        nonlocal close_code
        window, count = int(time.monotonic()), 0
        while True:
            frame = await ws.receive()
            if frame["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(frame.get("code", 1000))
            data = frame.get("text") or frame.get("bytes") or b""
            if len(data) > settings.ws_max_frame_bytes:
                close_code = realtime.CLOSE_TOO_BIG
                return
            now = int(time.monotonic())
            if now != window:
                window, count = now, 0
            count += 1
            if count > settings.ws_frames_per_second:
                close_code = realtime.CLOSE_POLICY
                return
            if data == "ping":
                with contextlib.suppress(asyncio.QueueFull):
                    queue.put_nowait({"type": "pong"})

    tasks = [asyncio.create_task(t()) for t in (produce, send, receive)]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        disconnected = any(
            isinstance(t.exception(), WebSocketDisconnect)
            for t in done
            if not t.cancelled() and t.exception()
        )
        if not disconnected:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(code=close_code), timeout=2)
    finally:
        # Cancel until done: a cancellation that lands inside a Redis call can be swallowed
        # by the client (seen with redis-py 8.1 on CPython 3.11), and a producer that missed
        # it would keep this socket's tasks and registration alive (tests/test_leaks.py).
        pending = set(tasks)
        while pending:
            for t in pending:
                t.cancel()
            _, pending = await asyncio.wait(pending, timeout=1.0)
        for t in tasks:  # retrieve what they raised (the WebSocketDisconnect, say)
            if not t.cancelled():
                t.exception()
        hub.unregister(user, wake)
        metrics.WS_CONNECTIONS.dec()
