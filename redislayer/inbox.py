"""Direct messages in Redis Streams (AOF on): durable, idempotent, Cluster-ready.

A send is four idempotent steps, each one Lua script inside one hash slot:

0. OPEN (slot `{u:<sender>}`): list the conversation in the sender's index (ZADD NX)
   before any message exists, so account erasure finds every conversation the user
   wrote in; refused once the sender's account is being erased (fence key).
1. SEND (slot `{c:<conv>}`): check the idempotency record; if new, XADD the message to
   the conversation stream (trimmed to the newest `keep` messages), record (message id,
   body hash) for IDEM_TTL seconds and index the record for erasure. A retry with the
   same key returns the original message; a different body -> 409. Refused once either
   side has been erased from this conversation.
2. DELIVER (slot `{u:<recipient>}`): ZADD NX the message id to the recipient's incoming
   set (dropping ids trimmed from the stream); only when it was new, bump the
   conversation in the recipient's list and XADD a `message` event to the recipient's
   event stream, unless the recipient blocked the sender (no event) or is being erased
   (nothing at all).
3. TOUCH (slot `{u:<sender>}`): bump the conversation in the sender's list.

A failure between steps leaves a message that a retry (same idempotency key) finishes
without duplicating anything. The client gets its answer only after all steps.

Every step goes through `Inbox._run`: EVALSHA queued as a raw command (a cluster pipeline
routes it by its first key; a node without the script, such as a promoted replica, gets it
loaded and the step runs again). With durable writes on (REDIS_DURABLE_SENDS,
docs/failover.md) each step is followed by `WAIT` on the same connection of the primary
that ran it, so a send is acknowledged only when the replicas hold the message, the
recipient's and the sender's index entries; a step too few replicas confirmed in time is
a 503 (`NotConfirmed`) whose retry with the same key is safe.

Retention (docs/inbox.md): each conversation keeps its newest `keep` messages
(MESSAGES_PER_CONVERSATION), trimmed exactly on every send; an account's erasure removes
its messages from every conversation, the whole conversation once nothing of either side
is left, its idempotency records, indexes and events, and its events in the other
parties' streams. Event streams (delivery log) keep the last EVENTS_MAXLEN events; a
client resuming from an older id is told to resync over REST.

Blocks (docs/inbox.md): `hide` mirrors a block into the blocker's slot: the conversation
leaves the blocker's list, unread counts and history, and the blocked user's queued events
leave the blocker's event stream; `unhide` brings the conversation back as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio.cluster import PipelineCommand
from redis.commands.core import AsyncScript
from redis.exceptions import (
    AskError,
    ClusterDownError,
    NoScriptError,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core import paging
from core.config import Settings
from core.errors import Conflict, Invalid, NotFound, Unavailable
from redislayer import realtime, rkeys
from redislayer.connection import CLIENT_RACES, REDIS_ERRORS, AsyncRedis

IDEM_TTL = 25 * 3600  # "at least 24 hours"
EVENTS_MAXLEN = 10_000
MESSAGES_KEPT = 10_000  # default of MESSAGES_PER_CONVERSATION (core/config.py)
ERASURE_FENCE_TTL = 3600  # s: an erased account's fences outlive any send in flight
ERASE_BATCH = 500  # conversations per pipeline while erasing an account
TOTAL_UNREAD_SCAN = 500  # total unread counts the 500 most recent conversations
CONVERSATIONS = "inbox.conversations"  # cursor tag (core/paging.py): [tag, score, conv]

# A Lua prelude shared by the scripts that remove entries from a stream (erasure, blocks).
# compact(key, doomed) deletes every entry for which doomed(fields) is true and then
# rebuilds the stream from the survivors: XDEL alone only flags an entry inside its node,
# so the removed text would stay in memory and in RDB snapshots until the whole node went.
# The rebuilt stream keeps its last id (new ids stay increasing), its entries-added count,
# and records the newest removed id as max-deleted-entry-id, so a socket resuming from
# before it is told to resync (redislayer/wssession.py). A stream left empty is deleted.
# Returns (removed, left). Streams are bounded (MESSAGES_PER_CONVERSATION, EVENTS_MAXLEN).
COMPACT = """
local function id_lt(a, b)
  local ams, aseq = string.match(a, '^(%d+)-(%d+)$')
  local bms, bseq = string.match(b, '^(%d+)-(%d+)$')
  ams, aseq, bms, bseq = tonumber(ams), tonumber(aseq), tonumber(bms), tonumber(bseq)
  return ams < bms or (ams == bms and aseq < bseq)
end
local function field(fields, name)
  for i = 1, #fields, 2 do
    if fields[i] == name then return fields[i + 1] end
  end
  return nil
end
local function compact(key, doomed)
  local keep, removed, newest_removed = {}, 0, nil
  local start = '-'
  while true do
    local batch = redis.call('XRANGE', key, start, '+', 'COUNT', 1000)
    for _, e in ipairs(batch) do
      if doomed(e[2]) then
        removed = removed + 1
        newest_removed = e[1]
      else
        keep[#keep + 1] = e
      end
    end
    if #batch < 1000 then break end
    start = '(' .. batch[#batch][1]
  end
  if removed == 0 then return 0, #keep end
  local info = redis.call('XINFO', 'STREAM', key)
  local last_id, added, max_deleted = field(info, 'last-generated-id'),
    field(info, 'entries-added'), field(info, 'max-deleted-entry-id')
  if max_deleted == nil or id_lt(max_deleted, newest_removed) then
    max_deleted = newest_removed
  end
  redis.call('DEL', key)
  if #keep == 0 then return removed, 0 end
  for _, e in ipairs(keep) do
    redis.call('XADD', key, e[1], unpack(e[2]))
  end
  redis.call('XSETID', key, last_id, 'ENTRIESADDED', added, 'MAXDELETEDID', max_deleted)
  return removed, #keep
end
-- Whether an event (JSON in field `data`) is about user `who`: a message from or to them,
-- an event whose `user` reference is them (docs/asyncapi.yaml), or one stored with the
-- older bare ids (`from` of a friend request, `by` of an acceptance).
local function about(fields, who)
  local ok, ev = pcall(cjson.decode, field(fields, 'data') or '')
  if not ok or type(ev) ~= 'table' then return false end
  if ev['from'] == who or ev['by'] == who then return true end
  local u = ev['user']
  if type(u) == 'table' and u['id'] == who then return true end
  local m = ev['message']
  return type(m) == 'table' and (m['from_id'] == who or m['to_id'] == who)
end
"""

# KEYS[1] sender conversation list, KEYS[2] sender erasure fence
# ARGV[1] conversation id, ARGV[2] now ms
# -> 1, or error GONE while the sender's account is being erased
OPEN = """
if redis.call('EXISTS', KEYS[2]) == 1 then
  return redis.error_reply('GONE')
end
redis.call('ZADD', KEYS[1], 'NX', tonumber(ARGV[2]), ARGV[1])
return 1
"""

# KEYS[1] conversation stream, KEYS[2] idempotency record, KEYS[3] idempotency index,
# KEYS[4] users erased from this conversation
# ARGV[1] from, ARGV[2] to, ARGV[3] text, ARGV[4] body hash, ARGV[5] now ms, ARGV[6] ttl s,
# ARGV[7] messages kept (exact MAXLEN), ARGV[8] index member `<from>:<key>`
# -> {id, created(1|0), oldest id kept ('' for a replay)} or error IDEM_MISMATCH / GONE
SEND = """
local rec = redis.call('GET', KEYS[2])
if rec then
  local id, hash = string.match(rec, '^([^|]+)|(.+)$')
  if hash ~= ARGV[4] then
    return redis.error_reply('IDEM_MISMATCH')
  end
  return {id, 0, ''}
end
if redis.call('SISMEMBER', KEYS[4], ARGV[1]) == 1
    or redis.call('SISMEMBER', KEYS[4], ARGV[2]) == 1 then
  return redis.error_reply('GONE')
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', tonumber(ARGV[7]), '*', 'from', ARGV[1],
                      'to', ARGV[2], 'text', ARGV[3], 'ts', ARGV[5])
local ttl = tonumber(ARGV[6])
redis.call('SET', KEYS[2], id .. '|' .. ARGV[4], 'EX', ttl)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[5])
redis.call('ZADD', KEYS[3], tonumber(ARGV[5]) + ttl * 1000, ARGV[8])
redis.call('EXPIRE', KEYS[3], ttl)
local oldest = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
return {id, 1, oldest[1][1]}
"""

# KEYS[1] recipient conversation list, KEYS[2] recipient incoming ids of this conversation,
# KEYS[3] recipient event stream, KEYS[4] recipient erasure fence, KEYS[5] recipient blocks
# ARGV[1] conversation id, ARGV[2] message id, ARGV[3] score of the id, ARGV[4] ts ms,
# ARGV[5] event payload (JSON), ARGV[6] events maxlen, ARGV[7] sender,
# ARGV[8] score of the oldest id the stream kept ('' for none: nothing to drop)
# -> 1 if delivered now, 0 if it had been delivered before (or the recipient is erased)
DELIVER = """
if redis.call('EXISTS', KEYS[4]) == 1 then
  return 0
end
redis.call('ZADD', KEYS[1], 'GT', tonumber(ARGV[4]), ARGV[1])
if ARGV[8] ~= '' then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[8])
end
if redis.call('ZADD', KEYS[2], 'NX', tonumber(ARGV[3]), ARGV[2]) == 0 then
  return 0
end
if redis.call('SISMEMBER', KEYS[5], ARGV[7]) == 1 then
  return 1
end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', tonumber(ARGV[6]), '*', 'data', ARGV[5])
return 1
"""

# KEYS[1] sender conversation list, KEYS[2] sender erasure fence
# ARGV[1] conversation id, ARGV[2] message ts ms -> 1, or 0 once the sender is being erased
TOUCH = """
if redis.call('EXISTS', KEYS[2]) == 1 then
  return 0
end
redis.call('ZADD', KEYS[1], 'GT', tonumber(ARGV[2]), ARGV[1])
return 1
"""

# Erasure, first step, in the user's slot. KEYS[1] user erasure fence, KEYS[2] user
# conversation list; ARGV[1] fence ttl s -> every conversation of the user. From here on
# OPEN and TOUCH refuse the user and DELIVER ignores them, so the list is complete.
ERASE_START = """
redis.call('SET', KEYS[1], '1', 'EX', tonumber(ARGV[1]))
return redis.call('ZRANGE', KEYS[2], 0, -1)
"""

# Erasure, per conversation, first step. KEYS[1] users erased from the conversation,
# KEYS[2] idempotency index; ARGV[1] user, ARGV[2] fence ttl s
# -> every idempotency index member: from here on SEND refuses the conversation, so the
#    list is complete when the next step deletes the records.
CONV_FENCE = """
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return redis.call('ZRANGE', KEYS[2], 0, -1)
"""

# Erasure, per conversation, second step. KEYS[1] conversation stream, KEYS[2] idempotency
# index, KEYS[3..] the idempotency records named by ARGV[2..] (index members `<from>:<key>`)
# ARGV[1] user
# Removes the user's messages and records; once no message is left (both sides gone, or
# the other side never wrote), the whole conversation: every record and the index.
# -> {messages removed, messages left}
CONV_ERASE = (
    COMPACT
    + """
local who = ARGV[1]
local removed, left = compact(KEYS[1], function(f) return field(f, 'from') == who end)
for i = 2, #ARGV do
  local from = string.match(ARGV[i], '^(.*):[^:]*$')
  if left == 0 or from == who then
    redis.call('DEL', KEYS[i + 1])
    redis.call('ZREM', KEYS[2], ARGV[i])
  end
end
if left == 0 then
  redis.call('DEL', KEYS[2])
end
return {removed, left}
"""
)

# Erasure of `ARGV[1]`, in the slot of the other party of one of its conversations.
# KEYS[1] their conversation list, KEYS[2] their incoming ids of this conversation (all
# from the erased user), KEYS[3] their read pointers, KEYS[4] their event stream,
# KEYS[5] their blocks
# ARGV[1] erased user, ARGV[2] conversation id, ARGV[3] '1' when the conversation is gone
# -> events removed
PEER_ERASE = (
    COMPACT
    + """
redis.call('DEL', KEYS[2])
if ARGV[3] == '1' then
  redis.call('ZREM', KEYS[1], ARGV[2])
  redis.call('HDEL', KEYS[3], ARGV[2])
end
redis.call('SREM', KEYS[5], ARGV[1])
local who = ARGV[1]
local removed = compact(KEYS[4], function(f) return about(f, who) end)
return removed
"""
)

# A block, in the blocker's slot. KEYS[1] blocker's blocks, KEYS[2] blocker's event stream
# ARGV[1] blocked user -> events removed
HIDE = (
    COMPACT
    + """
redis.call('SADD', KEYS[1], ARGV[1])
local who = ARGV[1]
local removed = compact(KEYS[2], function(f) return about(f, who) end)
return removed
"""
)

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


def _score_arg(stream_id: str) -> str:
    """`id_score` as the integer text a Lua script compares scores with."""
    return f"{id_score(stream_id):.0f}"


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


def _other(conv: str, me: str) -> str:
    """The other participant of one of my conversations."""
    lo, _, hi = conv.partition("|")
    return hi if lo == me else lo


# Replies after which the cluster client's slot map is stale (a failover, a slot move).
_SLOT_MAP_STALE = (
    AskError,  # and MovedError
    ClusterDownError,
    TryAgainError,
    RedisConnectionError,
    RedisTimeoutError,
    OSError,
)


def _as_connection_error(exc: BaseException) -> BaseException:
    if isinstance(exc, CLIENT_RACES):
        error = RedisConnectionError(f"connection closed under the call: {exc}")
        error.__cause__ = exc
        return error
    return exc


def _unavailable(exc: Exception) -> Unavailable:
    return Unavailable(
        "messaging is temporarily unavailable; retry shortly", {"cause": type(exc).__name__}
    )


@dataclass(frozen=True)
class Durability:
    """Durable writes (REDIS_DURABLE_SENDS): every write step of the inbox is acknowledged
    only once `replicas` replicas of the primary that ran it have it (`WAIT`), waiting at
    most `timeout_ms`; else the step fails with `NotConfirmed` (503)."""

    replicas: int
    timeout_ms: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Durability | None:
        if not settings.redis_durable_sends:
            return None
        return cls(settings.redis_durable_replicas, settings.redis_durable_timeout_ms)


class NotConfirmed(Unavailable):
    """A durable write that too few replicas confirmed in time (503): it may or may not
    survive a failover; a retry with the same Idempotency-Key is safe."""


@dataclass(frozen=True)
class _Step:
    """One command of an inbox pipeline: `command` as sent, `key` routes it (its slot), and
    `script` is the Lua script an EVALSHA runs (loaded again after a NOSCRIPT)."""

    key: str
    command: tuple[Any, ...]
    script: AsyncScript | None = None


def _call(script: AsyncScript, keys: Sequence[str], args: Sequence[Any]) -> _Step:
    # EVALSHA queued as a raw command: a cluster pipeline refuses `evalsha` and routes a
    # raw EVALSHA by its first key; all of a script's keys share that key's slot.
    return _Step(keys[0], ("EVALSHA", script.sha, len(keys), *keys, *args), script)


class Inbox:
    def __init__(self, redis: AsyncRedis, durable: Durability | None = None) -> None:
        # redis-py's annotations ignore decode_responses=True; every reply here is str.
        self.redis: Any = redis
        self.durable = durable
        self._slot_refresh = asyncio.Lock()
        self._open = redis.register_script(OPEN)
        self._send = redis.register_script(SEND)
        self._deliver = redis.register_script(DELIVER)
        self._touch = redis.register_script(TOUCH)
        self._mark = redis.register_script(MARK_READ)
        self._conv_fence = redis.register_script(CONV_FENCE)
        self._conv_erase = redis.register_script(CONV_ERASE)
        self._peer_erase = redis.register_script(PEER_ERASE)
        self._hide = redis.register_script(HIDE)
        self._erase_start = redis.register_script(ERASE_START)

    # ------------------------------------------------------------------ running steps

    async def _run(self, steps: Sequence[_Step], *, wake: str | None = None) -> list[Any]:
        """Run `steps` in one round trip per node, in order on each node, and return their
        replies; then announce `wake` (a user with new events). Scripts the node does not
        have (a promoted replica has none: SCRIPT LOAD is not replicated) are loaded and
        the steps that hit NOSCRIPT run again (every step is idempotent). Raises the first
        error reply; with durable writes on, `NotConfirmed` when a node's replicas did not
        confirm its steps in time."""
        if not steps:
            return []
        replies, confirmed = await self._pipeline(steps, wake)
        again = [i for i, r in enumerate(replies) if isinstance(r, NoScriptError)]
        if again:
            scripts = {steps[i].script for i in again}
            for script in scripts:
                if script is not None:
                    await self.redis.script_load(script.script)  # a cluster: every primary
            replies_again, confirmed_again = await self._pipeline([steps[i] for i in again], wake)
            for i, reply in zip(again, replies_again, strict=True):
                replies[i] = reply
            confirmed = [*confirmed, *confirmed_again]
        for reply in replies:
            if isinstance(reply, Exception):
                raise _as_connection_error(reply)
        if self.durable is not None:
            short = [c for c in confirmed if isinstance(c, Exception) or c < self.durable.replicas]
            if short:
                raise self._not_confirmed(short[0])
            if wake is not None:
                await realtime.announce_wake(self.redis, wake)
        return replies

    def _not_confirmed(self, reply: int | Exception) -> NotConfirmed:
        assert self.durable is not None
        if isinstance(reply, Exception):
            return NotConfirmed(
                "messaging is temporarily unavailable; retry with the same Idempotency-Key",
                {"cause": type(reply).__name__},
            )
        return NotConfirmed(
            f"the write was not confirmed by {self.durable.replicas} Redis replica(s) within "
            f"{self.durable.timeout_ms} ms ({reply} did); retry with the same "
            "Idempotency-Key. If this persists, the Redis primary has fewer connected "
            "replicas than REDIS_DURABLE_REPLICAS (a single server has none): add replicas "
            "or turn REDIS_DURABLE_SENDS off.",
            {"replicas_required": self.durable.replicas, "replicas_confirmed": reply},
        )

    async def _pipeline(
        self, steps: Sequence[_Step], wake: str | None = None
    ) -> tuple[list[Any], list[Any]]:
        """(step replies, WAIT replies): errors as values, not raised."""
        if self.durable is None:
            async with self.redis.pipeline(transaction=False) as pipe:
                for step in steps:
                    pipe.execute_command(*step.command)
                if wake is not None:
                    realtime.queue_wake(pipe, wake)
                try:
                    replies = await pipe.execute(raise_on_error=False)
                except CLIENT_RACES as exc:
                    raise _as_connection_error(exc) from exc
            return list(replies[: len(steps)]), []
        nodes = getattr(self.redis, "nodes_manager", None)
        if nodes is None:  # one server: a pipeline runs on one connection, WAIT last
            async with self.redis.pipeline(transaction=False) as pipe:
                for step in steps:
                    pipe.execute_command(*step.command)
                pipe.execute_command(*self._wait())
                try:
                    replies = await pipe.execute(raise_on_error=False)
                except CLIENT_RACES as exc:
                    raise _as_connection_error(exc) from exc
            return list(replies[:-1]), [replies[-1]]
        return await self._cluster_durable(steps)

    def _wait(self) -> tuple[Any, ...]:
        """WAIT counts the replicas that have the node's replication stream up to the offset
        after this connection's last command (Redis 7.0 records it after every command,
        reads too): after the steps, every write the node made before them, so a retried
        send that writes nothing is not acknowledged before its first try's writes are on
        a replica either (tests/test_inbox_cluster.py)."""
        assert self.durable is not None
        return ("WAIT", self.durable.replicas, self.durable.timeout_ms)

    async def _cluster_durable(self, steps: Sequence[_Step]) -> tuple[list[Any], list[Any]]:
        """On a cluster, WAIT answers for the connection it runs on: each primary gets its
        steps and then WAIT over one of its connections (`ClusterNode.execute_pipeline`),
        not through the cluster pipeline, whose retries may send the WAIT to another node
        or connection than the writes. No retry here: a failure is a 503 whose retry (same
        Idempotency-Key) is safe; a dead node or a moved slot refreshes the slot map first."""
        await self.redis.initialize()
        groups: dict[str, tuple[Any, list[PipelineCommand]]] = {}
        try:
            for i, step in enumerate(steps):
                node = self.redis.nodes_manager.get_node_from_slot(self.redis.keyslot(step.key))
                groups.setdefault(node.name, (node, []))[1].append(
                    PipelineCommand(i, *step.command)
                )
        except REDIS_ERRORS:
            await self._refresh_slots()
            raise
        for _, commands in groups.values():
            commands.append(PipelineCommand(-1, *self._wait()))
        failed = [
            _as_connection_error(f) if isinstance(f, BaseException) else f
            for f in await asyncio.gather(
                *(node.execute_pipeline(commands) for node, commands in groups.values()),
                return_exceptions=True,
            )
        ]
        replies: list[Any] = [None] * len(steps)
        confirmed: list[Any] = []
        for (_, commands), failure in zip(groups.values(), failed, strict=True):
            for command in commands[:-1]:
                replies[command.position] = (
                    failure if isinstance(failure, Exception) else command.result
                )
            confirmed.append(failure if isinstance(failure, Exception) else commands[-1].result)
        if any(isinstance(r, _SLOT_MAP_STALE) for r in (*replies, *confirmed)):
            await self._refresh_slots()
        return replies, confirmed

    async def _refresh_slots(self) -> None:
        """Re-read the cluster's slot map (after a failover); one refresh at a time, and a
        caller that finds one running waits for it instead of starting another."""
        if self._slot_refresh.locked():
            async with self._slot_refresh:
                return
        async with self._slot_refresh:
            with contextlib.suppress(*REDIS_ERRORS):
                await self.redis.nodes_manager.initialize()

    async def send(
        self,
        sender: str,
        recipient: str,
        text: str,
        idem_key: str,
        keep: int = MESSAGES_KEPT,
        *,
        sender_ref: Mapping[str, Any] | None = None,
    ) -> tuple[Message, bool]:
        """Returns (message, created); the conversation keeps its newest `keep` messages.
        Raise Conflict when the key was used with another body, NotFound when either
        account is being erased. `sender_ref` ({id, handle, display_name}) goes into the
        recipient's `message` event as `user` (docs/asyncapi.yaml)."""
        conv = rkeys.conversation_id(sender, recipient)
        body_hash = hashlib.sha256(json.dumps([recipient, text]).encode()).hexdigest()[:32]
        now_ms = int(time.time() * 1000)
        try:
            await self._run(
                [
                    _call(
                        self._open,
                        [rkeys.user_convs(sender), rkeys.user_erased(sender)],
                        [conv, now_ms],
                    )
                ]
            )
            [(msg_id, created, oldest)] = await self._run(
                [
                    _call(
                        self._send,
                        [
                            rkeys.conv_stream(conv),
                            rkeys.idempotency(conv, sender, idem_key),
                            rkeys.idempotency_index(conv),
                            rkeys.conv_erased(conv),
                        ],
                        [
                            sender,
                            recipient,
                            text,
                            body_hash,
                            now_ms,
                            IDEM_TTL,
                            max(1, keep),
                            f"{sender}:{idem_key}",
                        ],
                    )
                ]
            )
            if not created:
                entries = await self.redis.xrange(rkeys.conv_stream(conv), msg_id, msg_id)
                if not entries:  # trimmed by retention, or erased
                    raise Conflict("this Idempotency-Key belongs to a message no longer kept")
                message = _message(conv, msg_id, entries[0][1])
            else:
                message = Message(msg_id, conv, sender, recipient, text, now_ms)
            event = json.dumps(
                {"type": "message", "message": message.as_dict()}
                | ({"user": dict(sender_ref)} if sender_ref is not None else {})
            )
            # Recipient, sender and wake-up in one round trip. Not a transaction (the keys
            # are in different slots); each step is idempotent, so a retried send repairs
            # a pipeline cut short.
            await self._run(
                [
                    _call(
                        self._deliver,
                        [
                            rkeys.user_convs(recipient),
                            rkeys.user_incoming(recipient, conv),
                            rkeys.user_events(recipient),
                            rkeys.user_erased(recipient),
                            rkeys.user_blocks(recipient),
                        ],
                        [
                            conv,
                            message.id,
                            _score_arg(message.id),
                            message.sent_at_ms,
                            event,
                            EVENTS_MAXLEN,
                            sender,
                            _score_arg(oldest) if oldest else "",
                        ],
                    ),
                    _call(
                        self._touch,
                        [rkeys.user_convs(sender), rkeys.user_erased(sender)],
                        [conv, message.sent_at_ms],
                    ),
                ],
                wake=recipient,
            )
        except ResponseError as exc:
            if "IDEM_MISMATCH" in str(exc):
                raise Conflict(
                    "this Idempotency-Key was already used for a different message",
                    {"idempotency_key": idem_key},
                ) from exc
            if "GONE" in str(exc):
                raise NotFound("user not found", {"id": recipient}) from exc
            raise _unavailable(exc) from exc
        except REDIS_ERRORS as exc:
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
            # A conversation I hid by blocking reads like one that does not exist.
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.sismember(rkeys.user_blocks(me), other)
                if after is not None:
                    pipe.xrange(key, f"({after}", "+", count=limit + 1)
                else:
                    start = f"({before}" if before is not None else "+"
                    pipe.xrevrange(key, start, "-", count=limit + 1)
                hidden, raw = await pipe.execute()
        except REDIS_ERRORS as exc:
            raise _unavailable(exc) from exc
        if hidden:
            raw = []
        if after is not None:
            more_newer = len(raw) > limit
            raw = raw[:limit]
            msgs = [_message(conv, i, f) for i, f in reversed(raw)]
            older = msgs[-1].id if msgs else after
            newer = msgs[0].id if msgs and more_newer else None
            return msgs, older, newer
        more_older = len(raw) > limit
        msgs = [_message(conv, i, f) for i, f in raw[:limit]]
        older_page = msgs[-1].id if msgs and more_older else None
        newer_page = msgs[0].id if msgs and before is not None else None
        return msgs, older_page, newer_page

    async def conversations(
        self, me: str, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Conversation list, most recent first, with the last message and my unread count;
        and the cursor of the next page. Conversations with users I blocked are left out."""
        after = paging.expect(cursor, CONVERSATIONS, float, str)
        key = rkeys.user_convs(me)
        try:
            blocked = set(await self.redis.smembers(rkeys.user_blocks(me)))
            top = "+inf" if after is None else after[1]
            # Each blocked user hides at most one conversation: fetch that many more.
            raw = await self.redis.zrange(
                key,
                top,
                "-inf",
                byscore=True,
                desc=True,
                offset=0,
                num=limit + 50 + len(blocked),
                withscores=True,
            )
            if after is not None:
                _, at, conv_after = after
                raw = [(m, s) for m, s in raw if s < at or (s == at and m < conv_after)]
            raw = [(m, s) for m, s in raw if _other(m, me) not in blocked]
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
                out.append(
                    {
                        "conversation_id": conv,
                        "with_user_id": _other(conv, me),
                        "last_message": (
                            _message(conv, str(last[0][0]), last[0][1]).as_dict() if last else None
                        ),
                        "unread": int(unread),
                        "last_activity_ms": int(score),
                        "read_up_to": read_ptr,
                    }
                )
        except REDIS_ERRORS as exc:
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
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.sismember(rkeys.user_blocks(me), other)
                pipe.xrange(rkeys.conv_stream(conv), up_to, up_to)
                hidden, exists = await pipe.execute()
            if hidden or not exists:
                raise Invalid("no such message in this conversation", {"up_to": up_to})
            [result] = await self._run([_call(self._mark, [rkeys.user_read(me)], [conv, up_to])])
            return str(result)
        except REDIS_ERRORS as exc:
            raise _unavailable(exc) from exc

    async def total_unread(self, me: str) -> int:
        try:
            blocked = set(await self.redis.smembers(rkeys.user_blocks(me)))
            listed: list[str] = await self.redis.zrange(
                rkeys.user_convs(me), 0, TOTAL_UNREAD_SCAN - 1 + len(blocked), desc=True
            )
            convs = [c for c in listed if _other(c, me) not in blocked][:TOTAL_UNREAD_SCAN]
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
        except REDIS_ERRORS as exc:
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
            await realtime.announce_wake(self.redis, user)
        except REDIS_ERRORS:
            pass  # the request/acceptance itself is in Neo4j; the REST lists show it

    async def hide(self, me: str, other: str) -> None:
        """After `me` blocked `other` (Neo4j committed): their conversation leaves my list,
        unread counts and history, their events leave my event stream (a socket resuming
        from before them gets `resync`), and DELIVER adds no event of theirs from now on.
        Idempotent: a block answered 503 here is retried whole."""
        try:
            await self._run(
                [_call(self._hide, [rkeys.user_blocks(me), rkeys.user_events(me)], [other])]
            )
        except REDIS_ERRORS as exc:
            raise _unavailable(exc) from exc

    async def unhide(self, me: str, other: str) -> None:
        """After `me` unblocked `other`: the conversation comes back as it was (messages,
        read pointer, unread count); events removed by the block stay removed."""
        try:
            blocks = rkeys.user_blocks(me)
            await self._run([_Step(blocks, ("SREM", blocks, other))])
        except REDIS_ERRORS as exc:
            raise _unavailable(exc) from exc

    async def erase_user(self, user: str) -> dict[str, int]:
        """Erase an account's messaging data, before its graph is deleted:

        1. fence the user's slot (OPEN and TOUCH refuse it, DELIVER ignores it) and list
           the user's conversations: every conversation they wrote in is listed (OPEN runs
           before the message exists), every one they received in too (DELIVER);
        2. per conversation, fence it (SEND refuses it from now on) and list its
           idempotency records;
        3. per conversation, remove the user's messages and records, and the whole
           conversation once no message of either side is left;
        4. per other party, remove their incoming ids from the user (unread), the
           conversation from their list and read pointers when it is gone, the user from
           their blocks, and events about the user from their event stream;
        5. delete the user's own keys (list, incoming ids, read pointers, events, blocks).

        Every step is idempotent and the user's list goes last, so a call cut short by a
        Redis failure (Unavailable, 503) is finished by calling again. Fences expire after
        ERASURE_FENCE_TTL seconds. Returns counts for the log: conversations, messages
        removed, conversations removed."""
        stats = {"conversations": 0, "messages": 0, "conversations_removed": 0}
        try:
            [convs] = await self._run(
                [
                    _call(
                        self._erase_start,
                        [rkeys.user_erased(user), rkeys.user_convs(user)],
                        [ERASURE_FENCE_TTL],
                    )
                ]
            )
            for i in range(0, len(convs), ERASE_BATCH):
                await self._erase_conversations(user, convs[i : i + ERASE_BATCH], stats)
            own = [
                rkeys.user_convs(user),
                rkeys.user_read(user),
                rkeys.user_events(user),
                rkeys.user_blocks(user),
                *(rkeys.user_incoming(user, c) for c in convs),
            ]
            await self._run([_Step(own[0], ("DEL", *own))])  # one slot: {u:<user>}
        except REDIS_ERRORS as exc:
            raise _unavailable(exc) from exc
        return stats

    async def _erase_conversations(
        self, user: str, convs: list[str], stats: dict[str, int]
    ) -> None:
        members: list[list[str]] = await self._run(
            [
                _call(
                    self._conv_fence,
                    [rkeys.conv_erased(conv), rkeys.idempotency_index(conv)],
                    [user, ERASURE_FENCE_TTL],
                )
                for conv in convs
            ]
        )
        erased: list[list[int]] = await self._run(
            [
                _call(
                    self._conv_erase,
                    [
                        rkeys.conv_stream(conv),
                        rkeys.idempotency_index(conv),
                        *(rkeys.idempotency(conv, *_record(m)) for m in records),
                    ],
                    [user, *records],
                )
                for conv, records in zip(convs, members, strict=True)
            ]
        )
        peers: list[_Step] = []
        for conv, (removed, left) in zip(convs, erased, strict=True):
            other = _other(conv, user)
            stats["conversations"] += 1
            stats["messages"] += int(removed)
            stats["conversations_removed"] += int(left) == 0
            peers.append(
                _call(
                    self._peer_erase,
                    [
                        rkeys.user_convs(other),
                        rkeys.user_incoming(other, conv),
                        rkeys.user_read(other),
                        rkeys.user_events(other),
                        rkeys.user_blocks(other),
                    ],
                    [user, conv, "1" if int(left) == 0 else "0"],
                )
            )
        await self._run(peers)


def _record(member: str) -> tuple[str, str]:
    """An idempotency index member `<sender>:<key>` as (sender, key); keys hold no `:`."""
    sender, _, key = member.rpartition(":")
    return sender, key
