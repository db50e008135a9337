"""Every Redis key the service uses, in one place.

Keys that one atomic step (a Lua script or MULTI) touches together share a hash tag,
so the design works on Redis Cluster:

- `{c:<conv>}`: one conversation: its message stream, its idempotency records and their
  index, the erasure fence.
- `{u:<user>}`: one user: conversation index, per-conversation incoming ids, read
  pointers, event stream (real-time delivery and resume), blocks (for the inbox), the
  erasure fence, rate-limit windows.
- cache entries and version counters have their own keys: no cache step is multi-key.

Steps across slots (conversation → recipient → sender) are idempotent (NX adds keyed by
the message id), so retrying a send with the same idempotency key repairs a partial failure.
"""

from __future__ import annotations

PREFIX = "sg"


def conversation_id(a: str, b: str) -> str:
    """The same id whichever side asks: smaller user id first."""
    lo, hi = sorted((a, b))
    return f"{lo}|{hi}"


# ------------------------------------------------------------------ conversation slot


def conv_stream(conv: str) -> str:
    return f"{PREFIX}:{{c:{conv}}}:msgs"


def idempotency(conv: str, sender: str, key: str) -> str:
    return f"{PREFIX}:{{c:{conv}}}:idem:{sender}:{key}"


def idempotency_index(conv: str) -> str:
    """ZSET `<sender>:<key>` -> expiry (ms) of the conversation's idempotency records, so
    an account's erasure finds its records without scanning keys."""
    return f"{PREFIX}:{{c:{conv}}}:idemidx"


def conv_erased(conv: str) -> str:
    """SET of participants whose account is being erased: sends in this conversation are
    refused (a fence with a TTL, for sends in flight during the erasure)."""
    return f"{PREFIX}:{{c:{conv}}}:erased"


# ------------------------------------------------------------------ user slot


def user_convs(user: str) -> str:
    """ZSET conv -> last message time (ms): the conversation list."""
    return f"{PREFIX}:{{u:{user}}}:convs"


def user_incoming(user: str, conv: str) -> str:
    """ZSET of message ids the user received in a conversation (score = id as a number)."""
    return f"{PREFIX}:{{u:{user}}}:in:{conv}"


def user_read(user: str) -> str:
    """HASH conv -> id of the last message the user has read."""
    return f"{PREFIX}:{{u:{user}}}:read"


def user_events(user: str) -> str:
    """STREAM of events pushed to the user's sockets; clients resume from an event id."""
    return f"{PREFIX}:{{u:{user}}}:events"


def user_blocks(user: str) -> str:
    """SET of user ids this user blocked (mirrors Neo4j's BLOCKED for the inbox: their
    conversation is hidden from this user and their events are not delivered)."""
    return f"{PREFIX}:{{u:{user}}}:blocks"


def user_erased(user: str) -> str:
    """Fence (a string with a TTL) while the account's messaging data is being erased."""
    return f"{PREFIX}:{{u:{user}}}:erased"


def rate(user_or_ip: str, action: str, window: int) -> str:
    return f"{PREFIX}:{{u:{user_or_ip}}}:rate:{action}:{window}"


# ------------------------------------------------------------------ refresh token families


def refresh_family(family: str) -> str:
    """HASH of one login's refresh tokens (redislayer/tokenfamily.py): `cur` = the id of
    the one that may be used next, `user`, `revoked` once a used one came back. Its own
    slot (`{rf:<family>}`): every key a family ever needs goes under this tag."""
    return f"{PREFIX}:{{rf:{family}}}:family"


# ------------------------------------------------------------------ pub/sub

EVENTS_CHANNEL = f"{PREFIX}:events"  # payload: user id with new events (a wake-up, not the data)
# Payload: user id whose principal changed (token version, roles, deletion): that user's
# open sockets re-check their token before sending anything more (redislayer/realtime.py).
AUTH_CHANNEL = f"{PREFIX}:auth"


# ------------------------------------------------------------------ Neo4j bookmarks


def neo4j_bookmarks(user: str) -> str:
    """The bookmarks of the user's last Neo4j write (space-separated), with a TTL of
    NEO4J_BOOKMARK_TTL: that user's reads on any API process start from them
    (redislayer/bookmarks.py, docs/routing.md). One key per step: no hash tag needed."""
    return f"{PREFIX}:nbm:{user}"


def neo4j_newest_write() -> str:
    """`<database uuid>:<transaction id> <bookmark>` of the newest Neo4j write any process
    committed (a Lua compare keeps the highest), with the same TTL: every read that reaches
    Neo4j starts from it, so no cache fill runs on a secondary behind a write whose cache
    bump it saw (redislayer/bookmarks.py). Outside `sg:nbm:*`, so no user id can name it."""
    return f"{PREFIX}:nbm-db"


# ------------------------------------------------------------------ cache


def version(kind: str, user: str) -> str:
    """Counter bumped after a write changes what `kind` would answer for `user`."""
    return f"{PREFIX}:ver:{kind}:{user}"


def epoch(kind: str) -> str:
    """Global counter for changes whose reach is too wide to enumerate (see docs/caching.md)."""
    return f"{PREFIX}:epoch:{kind}"


def cached(kind: str, *parts: str) -> str:
    """One entry per answer; it records the versions it was computed under (redislayer/cache.py).
    ("cache3": the stored form changed twice; older entries are never read.)"""
    return f"{PREFIX}:cache3:{kind}:" + ":".join(parts)


def lock(cache_key: str) -> str:
    return f"{cache_key}:lock"


def negative(kind: str, ident: str) -> str:
    return f"{PREFIX}:neg:{kind}:{ident}"


def negative_budget(window: int) -> str:
    return f"{PREFIX}:negbudget:{window}"
