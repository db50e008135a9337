"""Friend requests, undirected friendships and blocks.

Every operation on a pair of users starts with `friends.lock_pair`, which write-locks
both user nodes in id order and reads the pair's state. All decisions are made on that
locked state inside one managed transaction, so concurrent requests/accepts on the same
pair serialise: exactly one friendship, never two, never a half-applied change. A
raised error rolls the transaction back (nothing written).
"""

from __future__ import annotations

from typing import Any, Literal

from core.errors import Conflict, Invalid, NotFound
from graph.db import Graph, Tx
from graph.pages import key_after, page, time_id_after

RequestOutcome = Literal["pending", "accepted"]

# Cursor tags (core/paging.py): one per list.
INCOMING = "friends.incoming"
OUTGOING = "friends.outgoing"
BLOCKS = "friends.blocks"
FRIENDS_OF = "friends.friends_of"
MUTUAL = "friends.mutual"


async def _state(tx: Tx, me: str, other: str) -> dict[str, Any]:
    if me == other:
        raise Invalid("you cannot do this with yourself", {"user_id": other})
    state = await tx.one("friends.lock_pair", me=me, other=other)
    assert state is not None
    if not state["me_exists"]:
        raise NotFound("your account no longer exists")
    # A user who blocked me is indistinguishable from a missing one.
    if not state["other_exists"] or state["they_blocked"]:
        raise NotFound("user not found", {"user_id": other})
    return state


async def send_request(graph: Graph, me: str, other: str) -> RequestOutcome:
    """Request friendship. If `other` already asked me, this accepts their request."""

    async def work(tx: Tx) -> RequestOutcome:
        st = await _state(tx, me, other)
        if st["i_blocked"]:
            raise Conflict("you have blocked this user; unblock them first", {"user_id": other})
        if st["friends"]:
            raise Conflict("you are already friends", {"user_id": other})
        if st["pending_out"]:
            raise Conflict("you already sent this user a friend request", {"user_id": other})
        if st["pending_in"]:
            await tx.run("friends.set_request_status", **{"from": other}, to=me, status="accepted")
            await tx.run("friends.create_friendship", a=me, b=other)
            return "accepted"
        await tx.run("friends.create_request", **{"from": me}, to=other)
        return "pending"

    return await graph.write_tx(work)


async def accept(graph: Graph, me: str, requester: str) -> None:
    """Accept `requester`'s pending request; a reverse pending request is closed too."""

    async def work(tx: Tx) -> None:
        st = await _state(tx, me, requester)
        if not st["pending_in"]:
            raise NotFound("no pending friend request from this user", {"user_id": requester})
        await tx.run("friends.set_request_status", **{"from": requester}, to=me, status="accepted")
        if st["pending_out"]:
            await tx.run(
                "friends.set_request_status", **{"from": me}, to=requester, status="accepted"
            )
        await tx.run("friends.create_friendship", a=me, b=requester)

    await graph.write_tx(work)


async def decline(graph: Graph, me: str, requester: str) -> None:
    async def work(tx: Tx) -> None:
        st = await _state(tx, me, requester)
        if not st["pending_in"]:
            raise NotFound("no pending friend request from this user", {"user_id": requester})
        await tx.run("friends.set_request_status", **{"from": requester}, to=me, status="declined")

    await graph.write_tx(work)


async def cancel(graph: Graph, me: str, addressee: str) -> None:
    async def work(tx: Tx) -> None:
        st = await _state(tx, me, addressee)
        if not st["pending_out"]:
            raise NotFound("you have no pending request to this user", {"user_id": addressee})
        await tx.run("friends.set_request_status", **{"from": me}, to=addressee, status="cancelled")

    await graph.write_tx(work)


async def unfriend(graph: Graph, me: str, other: str) -> None:
    async def work(tx: Tx) -> None:
        st = await _state(tx, me, other)
        if not st["friends"]:
            raise NotFound("you are not friends with this user", {"user_id": other})
        await tx.run("friends.delete_friendship", a=me, b=other)

    await graph.write_tx(work)


async def block(graph: Graph, me: str, other: str) -> None:
    """Idempotent. Removes the friendship and cancels pending requests either way."""

    async def work(tx: Tx) -> None:
        if me == other:
            raise Invalid("you cannot block yourself")
        st = await tx.one("friends.lock_pair", me=me, other=other)
        assert st is not None
        if not st["me_exists"]:
            raise NotFound("your account no longer exists")
        if not st["other_exists"]:
            raise NotFound("user not found", {"user_id": other})
        await tx.run("friends.block", me=me, other=other)

    await graph.write_tx(work)


async def unblock(graph: Graph, me: str, other: str) -> None:
    rows = await graph.write("friends.unblock", me=me, other=other)
    if not rows or rows[0]["removed"] == 0:
        raise NotFound("you have not blocked this user", {"user_id": other})


async def _timed_list(
    graph: Graph, query: str, tag: str, me: str, limit: int, cursor: str | None, at_key: str
) -> tuple[list[dict[str, Any]], str | None]:
    after_at, after_id = time_id_after(cursor, tag)
    rows = await graph.read_page(
        query, instants=(at_key,), me=me, after_at=after_at, after_id=after_id, limit=limit + 1
    )
    return page(rows, limit, tag, lambda r: (r[at_key].isoformat(), r["user"]["id"]))


async def incoming(
    graph: Graph, me: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    return await _timed_list(
        graph, "friends.list_requests_incoming", INCOMING, me, limit, cursor, "created_at"
    )


async def outgoing(
    graph: Graph, me: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    return await _timed_list(
        graph, "friends.list_requests_outgoing", OUTGOING, me, limit, cursor, "created_at"
    )


async def blocks(
    graph: Graph, me: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    return await _timed_list(graph, "friends.list_blocks", BLOCKS, me, limit, cursor, "at")


async def friends_of(
    graph: Graph, viewer: str, user_id: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    from graph import users

    if viewer != user_id:
        await users.public(graph, viewer, user_id)  # 404 when missing or blocked either way
    elif await users.principal(graph, user_id) is None:
        raise NotFound("user not found")
    rows = await graph.read_page(
        "friends.friends_of",
        instants=("since",),
        viewer_id=viewer,
        user_id=user_id,
        after=key_after(cursor, FRIENDS_OF),
        limit=limit + 1,
    )
    return page(rows, limit, FRIENDS_OF, lambda r: (r["key"],))


async def mutual(
    graph: Graph, viewer: str, other: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    from graph import users

    if viewer == other:
        raise Invalid("mutual friends need two different users")
    await users.public(graph, viewer, other)  # 404 when missing or blocked either way
    rows = await graph.read_page(
        "friends.mutual_friends",
        viewer_id=viewer,
        other_id=other,
        after=key_after(cursor, MUTUAL),
        limit=limit + 1,
    )
    return page(rows, limit, MUTUAL, lambda r: (r["key"],))
