"""Direct messages in Redis Streams (AOF on): durable, idempotent, Cluster-ready.

A send is three idempotent steps, each one Lua script inside one hash slot:

1. SEND (slot `{c:<conv>}`): check the idempotency record; if new, XADD the message to
   the conversation stream and record (message id, body hash) for IDEM_TTL seconds.
   A retry with the same key returns the original message; a different body -> 409.
2. DELIVER (slot `{u:<recipient>}`): ZADD NX the message id to the recipient's incoming
   set; only when it was new, bump the conversation in the recipient's list and XADD a
   `message` event to the recipient's event stream.
3. SENDER (slot `{u:<sender>}`): bump the conversation in the sender's list.

A failure between steps leaves a message that a retry (same idempotency key) finishes
without duplicating anything. The client gets its answer only after all three steps.

Retention (explicit, docs/inbox.md): conversation streams are never trimmed; messages
live until an account is deleted. Event streams (delivery log) keep the last
EVENTS_MAXLEN events; a client resuming from an older id is told to resync over REST.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from core import paging
from core.errors import Conflict, Invalid, Unavailable
from redislayer import rkeys

IDEM_TTL = 25 * 3600  # "at least 24 hours"
EVENTS_MAXLEN = 10_000
TOTAL_UNREAD_SCAN = 500  # total unread counts the 500 most recent conversations
CONVERSATIONS = "inbox.conversations"  # cursor tag (core/paging.py): [tag, score, conv]

# KEYS[1] conversation stream, KEYS[2] idempotency record
# ARGV[1] from, ARGV[2] to, ARGV[3] text, ARGV[4] body hash, ARGV[5] now ms, ARGV[6] ttl s
# -> {id, created(1|0)} or error IDEM_MISMATCH
SEND = """
local rec = redis.call('GET', KEYS[2])
if rec then
  local id, hash = string.match(rec, '^([^|]+)|(.+)$')
  if hash ~= ARGV[4] then
    return redis.error_reply('IDEM_MISMATCH')
  end
  return {id, 0}
end
local id = redis.call('XADD', KEYS[1], '*', 'from', ARGV[1], 'to', ARGV[2], 'text', ARGV[3],
                      'ts', ARGV[5])
redis.call('SET', KEYS[2], id .. '|' .. ARGV[4], 'EX', tonumber(ARGV[6]))
return {id, 1}
"""

# KEYS[1] recipient conversation list, KEYS[2] recipient incoming ids of this conversation,
# KEYS[3] recipient event stream
# ARGV[1] conversation id, ARGV[2] message id, ARGV[3] score of the id, ARGV[4] ts ms,
# ARGV[5] event payload (JSON), ARGV[6] events maxlen
# -> 1 if delivered now, 0 if it had been delivered before
DELIVER = """
redis.call('ZADD', KEYS[1], 'GT', tonumber(ARGV[4]), ARGV[1])
if redis.call('ZADD', KEYS[2], 'NX', tonumber(ARGV[3]), ARGV[2]) == 0 then
  return 0
end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', tonumber(ARGV[6]), '*', 'data', ARGV[5])
return 1
"""

# KEYS[1] user read pointers; ARGV[1] conversation id, ARGV[2] message id.
# Moves the pointer forward only (compares ms, then seq); returns the pointer after the call.
MARK_READ = """
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local cms, cseq = parse(cur)
  local nms, nseq = parse(ARGV[2])
  if nms < cms or (nms == cms and nseq <= cseq) then
    return cur
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return ARGV[2]
"""


def id_score(stream_id: str) -> float:
    """Stream ids `ms-seq` as one number that sorts the same way (exact below 2**53)."""
    ms, _, seq = stream_id.partition("-")
    return int(ms) * 1000 + int(seq or 0)


STREAM_ID_PART_MAX = 2**64 - 1  # Redis stores both parts of a stream id as uint64
_STREAM_ID = re.compile(r"([0-9]{1,20})-([0-9]{1,20})")


def id_parts(stream_id: str) -> tuple[int, int] | None:
    """(ms, seq) of a stream id Redis accepts, else None (so bad input is a 400, not a 503)."""
    m = _STREAM_ID.fullmatch(stream_id)
    if m is None:
        return None
    ms, seq = int(m[1]), int(m[2])
    return (ms, seq) if ms <= STREAM_ID_PART_MAX and seq <= STREAM_ID_PART_MAX else None


def valid_id(stream_id: str) -> bool:
    return id_parts(stream_id) is not None


@dataclass(frozen=True)
class Message:
    id: str
    conversation_id: str
    from_id: str
    to_id: str
    text: str
    sent_at_ms: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "conversation_id": self.conversation_id,
            "from_id": self.from_id,
            "to_id": self.to_id,
            "text": self.text,
            "sent_at_ms": self.sent_at_ms,
        }


def _message(conv: str, stream_id: str, fields: dict[str, str]) -> Message:
    return Message(
        id=stream_id,
        conversation_id=conv,
        from_id=fields["from"],
        to_id=fields["to"],
        text=fields["text"],
        sent_at_ms=int(fields["ts"]),
    )


def _unavailable(exc: Exception) -> Unavailable:
    return Unavailable(
        "messaging is temporarily unavailable; retry shortly", {"cause": type(exc).__name__}
    )


class Inbox:
    def __init__(self, redis: aioredis.Redis) -> None:
        # redis-py's annotations ignore decode_responses=True; every reply here is str.
        self.redis: Any = redis
        self._send = redis.register_script(SEND)
        self._deliver = redis.register_script(DELIVER)
        self._mark = redis.register_script(MARK_READ)

    async def send(
        self, sender: str, recipient: str, text: str, idem_key: str
    ) -> tuple[Message, bool]:
        """Returns (message, created). Raise Conflict when the key was used with another body."""
        conv = rkeys.conversation_id(sender, recipient)
        body_hash = hashlib.sha256(json.dumps([recipient, text]).encode()).hexdigest()[:32]
        now_ms = int(time.time() * 1000)
        try:
            msg_id, created = await self._send(
                keys=[rkeys.conv_stream(conv), rkeys.idempotency(conv, sender, idem_key)],
                args=[sender, recipient, text, body_hash, now_ms, IDEM_TTL],
            )
            if not created:
                entries = await self.redis.xrange(rkeys.conv_stream(conv), msg_id, msg_id)
                if not entries:  # pragma: no cover - the record outlived the message
                    raise Conflict("this idempotency key belongs to a deleted message")
                message = _message(conv, msg_id, entries[0][1])
            else:
                message = Message(msg_id, conv, sender, recipient, text, now_ms)
            event = json.dumps({"type": "message", "message": message.as_dict()})
            # Recipient, sender and wake-up in one round trip. Not a transaction (the keys
            # are in different slots); each step is idempotent, so a retried send repairs
            # a pipeline cut short.
            async with self.redis.pipeline(transaction=False) as pipe:
                await self._deliver(
                    keys=[
                        rkeys.user_convs(recipient),
                        rkeys.user_incoming(recipient, conv),
                        rkeys.user_events(recipient),
                    ],
                    args=[
                        conv,
                        message.id,
                        id_score(message.id),
                        message.sent_at_ms,
                        event,
                        EVENTS_MAXLEN,
                    ],
                    client=pipe,
                )
                pipe.zadd(rkeys.user_convs(sender), {conv: message.sent_at_ms}, gt=True)
                pipe.publish(rkeys.EVENTS_CHANNEL, recipient)
                await pipe.execute()
        except ResponseError as exc:
            if "IDEM_MISMATCH" in str(exc):
                raise Conflict(
                    "this Idempotency-Key was already used for a different message",
                    {"idempotency_key": idem_key},
                ) from exc
            raise _unavailable(exc) from exc
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from exc
        return message, bool(created)

    async def history(
        self, me: str, other: str, limit: int, before: str | None, after: str | None
    ) -> tuple[list[Message], str | None, str | None]:
        """Newest first by default; `before` pages to older, `after` to newer messages.
        Returns (messages newest-first, cursor for older, cursor for newer)."""
        for name, value in (("before", before), ("after", after)):
            if value is not None and not valid_id(value):
                raise Invalid(f"{name} must be a message id such as 1700000000000-0", {name: value})
        # Redis rejects an exclusive range past either end of the id space; nothing is there.
        if before is not None and id_parts(before) == (0, 0):
            return [], None, None
        if after is not None and id_parts(after) == (STREAM_ID_PART_MAX, STREAM_ID_PART_MAX):
            return [], after, None
        conv = rkeys.conversation_id(me, other)
        key = rkeys.conv_stream(conv)
        try:
            if after is not None:
                raw = await self.redis.xrange(key, f"({after}", "+", count=limit + 1)
                more_newer = len(raw) > limit
                raw = raw[:limit]
                msgs = [_message(conv, i, f) for i, f in reversed(raw)]
                older = msgs[-1].id if msgs else after
                newer = msgs[0].id if msgs and more_newer else None
                return msgs, older, newer
            start = f"({before}" if before is not None else "+"
            raw = await self.redis.xrevrange(key, start, "-", count=limit + 1)
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from exc
        more_older = len(raw) > limit
        msgs = [_message(conv, i, f) for i, f in raw[:limit]]
        older_page = msgs[-1].id if msgs and more_older else None
        newer_page = msgs[0].id if msgs and before is not None else None
        return msgs, older_page, newer_page

    async def conversations(
        self, me: str, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Conversation list, most recent first, with the last message and my unread count;
        and the cursor of the next page."""
        after = paging.expect(cursor, CONVERSATIONS, float, str)
        key = rkeys.user_convs(me)
        try:
            top = "+inf" if after is None else after[1]
            raw = await self.redis.zrange(
                key, top, "-inf", byscore=True, desc=True, offset=0, num=limit + 50, withscores=True
            )
            if after is not None:
                _, at, conv_after = after
                raw = [(m, s) for m, s in raw if s < at or (s == at and m < conv_after)]
            page = raw[: limit + 1]
            items = page[:limit]
            reads = (
                await self.redis.hmget(rkeys.user_read(me), [m for m, _ in items]) if items else []
            )
            out: list[dict[str, Any]] = []
            for (conv, score), read_ptr in zip(items, reads, strict=True):
                last = await self.redis.xrevrange(rkeys.conv_stream(conv), "+", "-", count=1)
                floor = f"({id_score(read_ptr)}" if read_ptr else "-inf"
                unread = await self.redis.zcount(rkeys.user_incoming(me, conv), floor, "+inf")
                lo, hi = conv.split("|")
                out.append(
                    {
                        "conversation_id": conv,
                        "with_user_id": hi if lo == me else lo,
                        "last_message": (
                            _message(conv, str(last[0][0]), last[0][1]).as_dict() if last else None
                        ),
                        "unread": int(unread),
                        "last_activity_ms": int(score),
                        "read_up_to": read_ptr,
                    }
                )
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from exc
        nxt = None
        if len(page) > limit:
            nxt = paging.encode((CONVERSATIONS, float(items[-1][1]), str(items[-1][0])))
        return out, nxt

    async def mark_read(self, me: str, other: str, up_to: str) -> str:
        if not valid_id(up_to):
            raise Invalid("up_to must be a message id such as 1700000000000-0")
        conv = rkeys.conversation_id(me, other)
        try:
            exists = await self.redis.xrange(rkeys.conv_stream(conv), up_to, up_to)
            if not exists:
                raise Invalid("no such message in this conversation", {"up_to": up_to})
            result = await self._mark(keys=[rkeys.user_read(me)], args=[conv, up_to])
            return str(result)
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from exc

    async def total_unread(self, me: str) -> int:
        try:
            convs: list[str] = await self.redis.zrange(
                rkeys.user_convs(me), 0, TOTAL_UNREAD_SCAN - 1, desc=True
            )
            if not convs:
                return 0
            reads = await self.redis.hmget(rkeys.user_read(me), convs)
            async with self.redis.pipeline(transaction=False) as pipe:
                for conv, ptr in zip(convs, reads, strict=True):
                    pipe.zcount(
                        rkeys.user_incoming(me, conv),
                        f"({id_score(ptr)}" if ptr else "-inf",
                        "+inf",
                    )
                counts = await pipe.execute()
            return int(sum(counts))
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from exc

    async def push_event(self, user: str, event: dict[str, Any]) -> None:
        """Best-effort real-time event that is not a message (friend requests)."""
        try:
            await self.redis.xadd(
                rkeys.user_events(user),
                {"data": json.dumps(event, default=str)},
                maxlen=EVENTS_MAXLEN,
                approximate=True,
            )
            await self.redis.publish(rkeys.EVENTS_CHANNEL, user)
        except (RedisError, OSError):
            pass  # the request/acceptance itself is in Neo4j; the REST lists show it

    async def delete_user_data(self, user: str) -> None:
        """On account deletion: the user's own index, pointers and events (not the other
        party's copy of shared conversations)."""
        try:
            convs: list[str] = await self.redis.zrange(rkeys.user_convs(user), 0, -1)
            keys = [
                rkeys.user_convs(user),
                rkeys.user_read(user),
                rkeys.user_events(user),
                *(rkeys.user_incoming(user, c) for c in convs),
            ]
            await self.redis.delete(*keys)
        except (RedisError, OSError):
            pass
