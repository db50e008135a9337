"""Refresh token families: rotation with reuse detection (RFC 9700, the OAuth 2.0 Security
Best Current Practice, section 4.14.2).

A login starts a family (a random id carried by its refresh token as `fam`). Each refresh
presents the family's current token and gets a new one (its `jti` becomes the family's
`cur`); the presented one is used up. A used token that comes back means two parties hold
the family's tokens (one of them stolen): the whole family is revoked, the newest token
too, and both get 401 and must log in again. Other logins of the user (other families)
are untouched; logout revokes every family by bumping the user's token version in Neo4j.

State: one Redis hash per family (`rkeys.refresh_family`), changed by one Lua script, so a
rotation is atomic (of concurrent refreshes with one token, one wins and the others are
reuse). A family is written at its first refresh, not at login, so logging in needs no
Redis: a family with no record has had no refresh yet, and its first token is accepted
once. The record lives as long as the family's newest token could (the refresh lifetime
from each rotation), a revoked one as a tombstone for as long. Redis down: `Unavailable`
(503), fail closed, and nothing is used up.
"""

from __future__ import annotations

from typing import Any, Literal, cast

from core.errors import Unavailable
from redislayer import rkeys
from redislayer.connection import REDIS_ERRORS, AsyncRedis

Outcome = Literal["rotated", "reused", "revoked"]
RECORD_MARGIN_S = 3600

# KEYS[1] the family's hash (rkeys.refresh_family)
# ARGV[1] the presented token's jti, ARGV[2] its successor's jti, ARGV[3] the user id,
# ARGV[4] how long the record lives (ms)
# Returns 'rotated' (ARGV[2] is now the one usable token), 'reused' (ARGV[1] was used
# before, or belongs to someone else: the family is revoked now) or 'revoked' (earlier).
ROTATE = """
if redis.call('HEXISTS', KEYS[1], 'revoked') == 1 then
  return 'revoked'
end
local cur = redis.call('HGET', KEYS[1], 'cur')
local user = redis.call('HGET', KEYS[1], 'user')
if (cur and cur ~= ARGV[1]) or (user and user ~= ARGV[3]) then
  redis.call('HDEL', KEYS[1], 'cur')
  redis.call('HSET', KEYS[1], 'revoked', '1', 'user', user or ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  return 'reused'
end
redis.call('HSET', KEYS[1], 'cur', ARGV[2], 'user', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 'rotated'
"""


async def rotate(
    redis: AsyncRedis,
    family: str,
    user: str,
    presented: str,
    successor: str,
    lifetime_s: int,
) -> Outcome:
    """Use up `presented` (a jti of `family`) and make `successor` the family's next.
    `lifetime_s`: the refresh token lifetime; the record outlives every token issued so
    far by it (by RECORD_MARGIN_S, beyond any leeway in checking `exp`)."""
    script: Any = redis.register_script(ROTATE)  # a refresh is rare: no need to keep it
    try:
        outcome = await script(
            keys=[rkeys.refresh_family(family)],
            args=[presented, successor, user, (lifetime_s + RECORD_MARGIN_S) * 1000],
        )
    except REDIS_ERRORS as exc:
        raise Unavailable(
            "token refresh needs Redis, which is unavailable; retry shortly (the refresh "
            "token was not used up)"
        ) from exc
    return cast(Outcome, str(outcome))
