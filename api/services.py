"""What a route does beyond one graph call: the graph write, then cache invalidation and
real-time events; or a cached read. Routes stay thin by calling exactly one of these."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

from fastapi.concurrency import run_in_threadpool

from api import invalidate, schemas, security
from core import metrics
from core.config import Settings
from core.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable
from graph import feed, friends, posts, recommend, users
from graph.db import Graph
from redislayer.cache import Cache
from redislayer.cachepolicy import AUTH, FEED, PERM, POPULAR, PROF, SUGG, Epoch
from redislayer.inbox import MESSAGES_KEPT, Inbox

PRINCIPAL_TTL = AUTH.ttl  # quoted by `socialgraph grant-role`
log = logging.getLogger("socialgraph.api")


def dump_json(value: Any) -> str:
    return json.dumps(value, default=str)  # Neo4j dates as ISO text, as the API shows them


# ------------------------------------------------------------------ users


async def principal(graph: Graph, cache: Cache, user_id: str) -> dict[str, Any] | None:
    """Who a token's subject is now: token version and roles, or None once deleted. Every
    authenticated request asks, so the answer is cached (a Neo4j round trip was most of a
    warm request's cost). Logout and role changes bump `ver:auth:<u>`, deletion bumps
    `epoch:all`, both after the Neo4j commit: a revoked token fails on its next request."""
    return await cache.read(
        AUTH,
        [user_id],
        [],
        lambda: users.principal(graph, user_id),
        dump=dump_json,
        load=json.loads,
    )


async def check_login(
    graph: Graph, settings: Settings, creds: dict[str, Any] | None, password: str
) -> bool:
    """Whether `password` is right for `creds` (`users.credentials`; None: unknown handle,
    checked against a dummy hash all the same). Argon2id runs off the event loop. A right
    password whose hash is outdated (an older pepper key, older Argon2 parameters, or from
    before peppers) is rehashed with the current key (core/passwords.py, key rotation);
    if that write fails the login still succeeds and the next one retries."""
    stored = creds["stored"] if creds else None
    verdict = await run_in_threadpool(security.check_password, stored, password, settings)
    if creds and stored and verdict.ok and verdict.rehash:
        fresh = await run_in_threadpool(security.hash_password, password, settings)
        try:
            await users.replace_password_hash(graph, creds["id"], stored, fresh)
        except Unavailable:
            log.warning("rehash of %s's password deferred: Neo4j unavailable", creds["id"])
    return verdict.ok


async def revoke_tokens(graph: Graph, cache: Cache, user: str) -> None:
    await users.revoke_tokens(graph, user)
    await invalidate.principal_changed(cache, user)


async def profile(graph: Graph, cache: Cache, viewer: str, user_id: str) -> dict[str, Any]:
    """Cached per (viewer, user). Unknown ids are remembered for a minute (negative cache),
    by the one computation that found them missing, so a burst costs one Neo4j lookup."""
    if await cache.is_known_missing("user", user_id):
        raise NotFound("user not found", {"id": user_id})

    async def compute() -> dict[str, Any]:
        try:
            return await users.public(graph, viewer, user_id)
        except users.UserMissing:
            await cache.remember_missing("user", user_id)
            raise

    return await cache.read(
        PROF,
        [viewer, user_id],
        [],
        compute,
        dump=dump_json,
        load=json.loads,
    )


async def update_profile(
    graph: Graph, cache: Cache, user: str, changes: dict[str, Any]
) -> dict[str, Any]:
    result = await users.update(graph, user, changes)
    await invalidate.profile_changed(cache, user)
    return result


async def delete_account(graph: Graph, cache: Cache, inbox: Inbox, user: str) -> None:
    """Messages first (redislayer/inbox.py `erase_user`): if Redis fails, 503 and nothing
    is deleted yet, and the user (whose token still works) retries; every step of both
    is idempotent. Then the graph and the caches."""
    await inbox.erase_user(user)
    await users.delete(graph, user)
    await invalidate.user_deleted(cache)
    await invalidate.principal_changed(cache, user)  # announced: the user's sockets close


# ------------------------------------------------------------------ friends


async def user_ref(graph: Graph, cache: Cache, user_id: str) -> dict[str, Any]:
    """The small reference to a user that real-time events carry under `user`
    (docs/asyncapi.yaml `UserRef`): id, handle, display name, from the user's own view of
    their profile, which the profile cache holds (one Redis read on a hit)."""
    row = await profile(graph, cache, user_id, user_id)
    return {"id": row["id"], "handle": row["handle"], "display_name": row.get("display_name")}


# Until the next release, friend events also carry their old bare-id key (`from`, `by`),
# deprecated in docs/asyncapi.yaml: clients written against them keep working meanwhile.
_LEGACY_KEY = {"friend_request": "from", "friend_request_accepted": "by"}


async def _friend_event(
    graph: Graph, cache: Cache, inbox: Inbox, to: str, kind: str, about: str
) -> None:
    """Best effort, like the event itself (the request is in Neo4j, the REST lists show
    it): if `about`'s reference cannot be read, there is no event, and no error after
    a committed write."""
    try:
        ref = await user_ref(graph, cache, about)
    except (NotFound, Unavailable):
        log.warning("no %s event for %s: %s's profile could not be read", kind, to, about)
        return
    await inbox.push_event(to, {"type": kind, "user": ref, _LEGACY_KEY[kind]: about})


async def send_request(
    graph: Graph, cache: Cache, inbox: Inbox, me: str, other: str
) -> friends.RequestOutcome:
    outcome = await friends.send_request(graph, me, other)
    if outcome == "accepted":
        await invalidate.friendship_changed(cache, graph, me, other)
        await _friend_event(graph, cache, inbox, other, "friend_request_accepted", me)
    else:
        await invalidate.request_changed(cache, me, other)
        await _friend_event(graph, cache, inbox, other, "friend_request", me)
    return outcome


async def accept(graph: Graph, cache: Cache, inbox: Inbox, me: str, requester: str) -> None:
    await friends.accept(graph, me, requester)
    await invalidate.friendship_changed(cache, graph, me, requester)
    await _friend_event(graph, cache, inbox, requester, "friend_request_accepted", me)


async def decline(graph: Graph, cache: Cache, me: str, requester: str) -> None:
    await friends.decline(graph, me, requester)
    await invalidate.request_changed(cache, me, requester)


async def cancel(graph: Graph, cache: Cache, me: str, addressee: str) -> None:
    await friends.cancel(graph, me, addressee)
    await invalidate.request_changed(cache, me, addressee)


async def unfriend(graph: Graph, cache: Cache, me: str, other: str) -> None:
    # Read after the change, N(me) and N(other) still hold everyone affected but the
    # two themselves, whom friendship_changed bumps explicitly.
    await friends.unfriend(graph, me, other)
    await invalidate.friendship_changed(cache, graph, me, other)


async def block(graph: Graph, cache: Cache, inbox: Inbox, me: str, other: str) -> None:
    """Then the conversation hides from me and their events stop (`Inbox.hide`). If
    Redis fails there, 503: the block is idempotent, so the client retries it whole."""
    await friends.block(graph, me, other)
    await invalidate.friendship_changed(cache, graph, me, other)
    await inbox.hide(me, other)


async def unblock(graph: Graph, cache: Cache, inbox: Inbox, me: str, other: str) -> None:
    """Then the conversation comes back (`Inbox.unhide`). A retry after a 503 there finds
    no block (404) and still brings the conversation back."""
    try:
        await friends.unblock(graph, me, other)
    except NotFound:
        await inbox.unhide(me, other)
        raise
    await invalidate.friendship_changed(cache, graph, me, other)
    await inbox.unhide(me, other)


# ------------------------------------------------------------------ posts


async def create_post(graph: Graph, cache: Cache, me: str, text: str) -> dict[str, Any]:
    post = await posts.create(graph, me, text)
    await invalidate.post_created(cache, graph, me, post["id"])
    return post


async def delete_post(graph: Graph, cache: Cache, me: str, post_id: str) -> None:
    audience, overflow = await invalidate.post_audience(graph, post_id)
    await posts.delete(graph, me, post_id)
    await invalidate.post_deleted(cache, me, audience, overflow)


async def _interaction(graph: Graph, cache: Cache, post_id: str) -> None:
    audience, overflow = await invalidate.post_audience(graph, post_id)
    await invalidate.post_audience_changed(cache, audience, overflow)


async def like(graph: Graph, cache: Cache, me: str, post_id: str) -> dict[str, Any]:
    result = await posts.like(graph, me, post_id)
    if result["created"]:
        await _interaction(graph, cache, post_id)
    return result


async def unlike(graph: Graph, cache: Cache, me: str, post_id: str) -> dict[str, Any]:
    # The audience is read before the change: the unliker's friends could see the post
    # only through this like.
    audience, overflow = await invalidate.post_audience(graph, post_id)
    result = await posts.unlike(graph, me, post_id)
    if result["removed"]:
        await invalidate.post_audience_changed(cache, audience, overflow)
    return result


async def comment(graph: Graph, cache: Cache, me: str, post_id: str, text: str) -> dict[str, Any]:
    result = await posts.comment(graph, me, post_id, text)
    await _interaction(graph, cache, post_id)
    return result


async def delete_comment(
    graph: Graph, cache: Cache, me: str, post_id: str, comment_id: str
) -> None:
    audience, overflow = await invalidate.post_audience(graph, post_id)
    await posts.delete_comment(graph, me, post_id, comment_id)
    await invalidate.post_audience_changed(cache, audience, overflow)


# ------------------------------------------------------------------ recommendations


async def suggestions(
    graph: Graph,
    cache: Cache,
    me: str,
    algorithm: recommend.Algorithm,
    limit: int,
    cursor: str | None,
) -> str:
    """The page as JSON text: a hit is served without parsing or re-serializing it."""

    def depends(page: recommend.SuggestionPage) -> list[Epoch]:
        deps: list[Epoch] = []
        if algorithm == "jaccard":
            deps.append("degree")
        if any(s.reason != "mutual_friends" for s in page.items):
            deps.append("popular")
        return deps

    return await cache.read(
        SUGG,
        [me],
        [algorithm, str(limit), cursor or "-"],
        lambda: recommend.suggest(
            graph,
            me,
            algorithm=algorithm,
            limit=limit,
            cursor=cursor,
            popular=lambda: popular_pool(graph, cache),
        ),
        dump=schemas.SuggestionPage.json_of,
        load=str,
        depends=depends,
    )


async def popular_pool(graph: Graph, cache: Cache) -> list[str]:
    """Who may appear in anyone's cold-start list, shared by all users for `POPULAR.ttl`.
    Not tied to `epoch:popular` (any friendship bumps it, and a recompute scans every
    user): membership may lag by up to a minute, while each cold-start page still applies
    its own exclusions and current degrees (docs/recommendations.md)."""
    return await cache.read(
        POPULAR,
        [],
        ["pool"],
        lambda: recommend.popular_ids(graph),
        dump=dump_json,
        load=json.loads,
    )


async def dismiss(graph: Graph, cache: Cache, me: str, other: str) -> None:
    await recommend.dismiss(graph, me, other)
    await invalidate.dismissed(cache, me)


def minute_now() -> datetime:
    """`top` feeds decay with time; they are computed at minute granularity so an answer
    can be cached for the rest of that minute (documented in docs/recommendations.md)."""
    return datetime.fromtimestamp(int(time.time()) // 60 * 60, tz=UTC)


# ------------------------------------------------------------------ messages


async def message_facts(
    graph: Graph, cache: Cache, sender: str, recipient: str
) -> dict[str, Any] | None:
    """What decides whether sender may message recipient (existence, blocks, friendship,
    `who_can_message`), cached per ordered pair: a conversation asks on every message.
    Friendship and block changes and profile edits bump `ver:perm` of both sides."""
    return await cache.read(
        PERM,
        [sender, recipient],
        [],
        lambda: graph.read_one("messages.can_message", sender=sender, recipient=recipient),
        dump=dump_json,
        load=json.loads,
    )


async def send_message(
    graph: Graph,
    cache: Cache,
    inbox: Inbox,
    sender: str,
    recipient: str,
    text: str,
    idem_key: str,
    keep: int = MESSAGES_KEPT,
) -> tuple[dict[str, Any], bool]:
    """Check the recipient's `who_can_message` and blocks (Neo4j, cached), then store in
    Redis (the conversation keeps its newest `keep` messages). The recipient's `message`
    event carries the sender's reference, read beside the facts (both cached)."""
    if sender == recipient:
        raise Invalid("you cannot message yourself")
    row, sender_ref = await asyncio.gather(
        message_facts(graph, cache, sender, recipient), user_ref(graph, cache, sender)
    )
    if row is None or not row["recipient_exists"] or row["they_blocked"]:
        raise NotFound("user not found", {"id": recipient})
    if row["i_blocked"]:
        raise Conflict("you have blocked this user; unblock them to send messages")
    setting = row["who_can_message"] or "friends"
    if setting == "nobody" or (setting == "friends" and not row["friends"]):
        raise Forbidden("this user does not accept messages from you", {"who_can_message": setting})
    message, created = await inbox.send(
        sender, recipient, text, idem_key, keep, sender_ref=sender_ref
    )
    metrics.INBOX_SENDS.labels("created" if created else "replayed").inc()
    return message.as_dict(), created


async def feed_page(
    graph: Graph,
    cache: Cache,
    me: str,
    *,
    scope: feed.Scope,
    order: feed.Order,
    before: datetime | None,
    include_interactions: bool,
    limit: int,
    cursor: str | None,
) -> str:
    """As JSON text (see `suggestions`). Cached per request shape. Friends-scope answers are
    invalidated per user; fof answers also by the fof epoch (their audience is too wide to
    enumerate). `top` is evaluated at minute granularity so its answer can be cached within
    the minute."""
    now = minute_now() if order == "top" else None
    parts = [
        scope,
        order,
        before.isoformat() if before else "-",
        str(include_interactions),
        str(limit),
        cursor or "-",
        now.isoformat() if now else "-",
    ]
    return await cache.read(
        FEED,
        [me],
        parts,
        lambda: feed.feed(
            graph,
            me,
            scope=scope,
            order=order,
            before=before,
            include_interactions=include_interactions,
            limit=limit,
            cursor=cursor,
            now=now,
        ),
        dump=schemas.FeedPage.json_of,
        load=str,
        epochs=["feedfof"] if scope == "fof" else [],
    )
