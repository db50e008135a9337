"""Who must stop seeing a cached answer after each kind of write. Called after the Neo4j
commit (never before: a reader could refill the old answer under the new version).

Version counters (per user) and epochs (global): their names are the `Version` and `Epoch`
types of `redislayer/cachepolicy.py`, where each cached read declares which ones it is
stamped with ("read by" below); tests/test_cache_policy.py checks that each of them is
bumped here and that nothing else is:

| counter | bumped by | read by |
|---|---|---|
| `ver:sugg:<u>` | friendship/block change touching u or a friend of u; request to/from u; u dismissed someone | suggestions of u |
| `epoch:degree` | any friendship change (a degree changed somewhere) | Jaccard answers only (its union term reads the candidate's degree) |
| `epoch:popular` | any friendship change, discoverable toggles | cold-start answers only |
| `epoch:sugg` | profile changes (names shown in suggestions), discoverable toggles, fan-out overflow | all suggestions |
| `ver:feed:<u>` | a post, like or comment that u's friends-scope feed can show; u's friendships/blocks | feeds of u |
| `epoch:feedfof` | every post/like/comment/friendship/block | friends-of-friends feeds |
| `epoch:feed` | profile changes, fan-out overflow | all feeds |
| `ver:prof:<u>` | u's profile, friendships, blocks, posts | profiles that u sees and that show u |
| `ver:perm:<u>` | u's friendships, blocks, profile (`who_can_message`) | whether someone may message u, or u someone |
| `ver:auth:<u>` | logout (token revocation), role changes (`socialgraph grant-role`), deletion of u; each bump is also announced to u's open sockets (`rkeys.AUTH_CHANNEL`) | u's principal (token version, roles) |
| `epoch:all` | account deletion, and Redis coming back after a missed invalidation | everything |
"""

from __future__ import annotations

from graph.db import Graph
from redislayer.cache import Cache
from redislayer.cachepolicy import Epoch

FANOUT_CAP = 5_000  # above this many affected users, bump the global epoch instead


async def _friend_ids(graph: Graph, ids: list[str]) -> tuple[list[str], bool]:
    rows = await graph.read("cache.friend_ids", ids=ids, cap=FANOUT_CAP + 1)
    found = [r["id"] for r in rows]
    return found[:FANOUT_CAP], len(found) > FANOUT_CAP


async def friendship_changed(cache: Cache, graph: Graph, a: str, b: str) -> None:
    """A friendship was made or removed (also blocks, which remove friendships)."""
    friends, overflow = await _friend_ids(graph, [a, b])
    await cache.bump_versions("sugg", [a, b, *friends])
    await cache.bump_versions("feed", [a, b])
    await cache.bump_versions("prof", [a, b])
    await cache.bump_versions("perm", [a, b])
    wide: tuple[Epoch, ...] = ("sugg",) if overflow else ()
    await cache.bump_epochs("degree", "popular", "feedfof", *wide)


async def request_changed(cache: Cache, a: str, b: str) -> None:
    await cache.bump_versions("sugg", [a, b])


async def dismissed(cache: Cache, user: str) -> None:
    await cache.bump_versions("sugg", [user])


async def profile_changed(cache: Cache, user: str) -> None:
    # Names and discoverability appear in other people's suggestions and feeds; profile
    # edits are rare, so a global bump is cheaper than finding every reader.
    await cache.bump_versions("prof", [user])
    await cache.bump_versions("perm", [user])  # who_can_message
    await cache.bump_epochs("sugg", "popular", "feed")


async def post_audience_changed(cache: Cache, audience: list[str], overflow: bool) -> None:
    await cache.bump_versions("feed", audience)
    wide: tuple[Epoch, ...] = ("feed",) if overflow else ()
    await cache.bump_epochs("feedfof", *wide)


async def post_audience(graph: Graph, post_id: str) -> tuple[list[str], bool]:
    rows = await graph.read("cache.post_audience", post_id=post_id, cap=FANOUT_CAP + 1)
    found = [r["id"] for r in rows]
    return found[:FANOUT_CAP], len(found) > FANOUT_CAP


async def post_deleted(cache: Cache, author: str, audience: list[str], overflow: bool) -> None:
    """`audience` as read before the delete (`post_audience`)."""
    await cache.bump_versions("prof", [author])
    await post_audience_changed(cache, audience, overflow)


async def post_created(cache: Cache, graph: Graph, author: str, post_id: str) -> None:
    audience, overflow = await post_audience(graph, post_id)
    await cache.bump_versions("prof", [author])
    await post_audience_changed(cache, audience, overflow)


async def principal_changed(cache: Cache, user: str) -> None:
    await cache.bump_versions("auth", [user])


async def user_deleted(cache: Cache) -> None:
    await cache.bump_epochs("all")
