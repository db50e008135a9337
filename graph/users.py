"""Accounts and profiles."""

from __future__ import annotations

import uuid
from typing import Any

from core.errors import Conflict, NotFound
from core.passwords import StoredPassword
from graph.db import Graph
from graph.pages import key_after, page

SEARCH = "users.search"  # cursor tag (core/paging.py)


def new_id() -> str:
    return uuid.uuid4().hex


async def create(
    graph: Graph,
    *,
    handle: str,
    display_name: str | None,
    bio: str,
    password_hash: StoredPassword,
) -> dict[str, Any]:
    try:
        row = await graph.write_one(
            "users.create",
            id=new_id(),
            handle=handle,
            display_name=display_name or handle,
            bio=bio,
            password_hash=password_hash.hash,
            pepper_id=password_hash.pepper_id,
        )
    except Conflict as exc:
        raise Conflict("that handle is taken; choose another", {"field": "handle"}) from exc
    assert row is not None
    return dict(row["user"])


async def credentials(graph: Graph, handle: str) -> dict[str, Any] | None:
    """id, token_version, roles and `stored` (a `StoredPassword`, None without one)."""
    row = await graph.read_one("users.credentials_by_handle", handle=handle)
    if row is None:
        return None
    hash_, pepper_id = row.pop("password_hash"), row.pop("pepper_id")
    row["stored"] = None if hash_ is None else StoredPassword(hash_, pepper_id)
    return row


async def replace_password_hash(
    graph: Graph, user_id: str, old: StoredPassword, new: StoredPassword
) -> bool:
    """Store `new` if `old` is still what the user's credential holds (rehash at login)."""
    row = await graph.write_one(
        "users.replace_password_hash",
        id=user_id,
        old_hash=old.hash,
        password_hash=new.hash,
        pepper_id=new.pepper_id,
    )
    return bool(row and row["n"])


async def principal(graph: Graph, user_id: str) -> dict[str, Any] | None:
    return await graph.read_one("users.principal", id=user_id)


async def me(graph: Graph, user_id: str) -> dict[str, Any]:
    row = await graph.read_one("users.me", id=user_id)
    if row is None:
        raise NotFound("user not found")
    return dict(row["user"])


class UserMissing(NotFound):
    """The id belongs to nobody (as opposed to someone hidden by a block)."""


async def public(graph: Graph, viewer_id: str, user_id: str) -> dict[str, Any]:
    """404 for a missing user and for a pair that blocks each other: a block is not revealed
    (both raise NotFound with the same message; UserMissing only tells the cache)."""
    row = await graph.read_one("users.public_by_id", viewer_id=viewer_id, id=user_id)
    if row is None or not row["exists"]:
        raise UserMissing("user not found", {"id": user_id})
    if row["user"] is None:
        raise NotFound("user not found", {"id": user_id})
    return dict(row["user"])


async def public_by_handle(graph: Graph, viewer_id: str, handle: str) -> dict[str, Any]:
    row = await graph.read_one("users.public_by_handle", viewer_id=viewer_id, handle=handle)
    if row is None:
        raise NotFound("user not found", {"handle": handle})
    return dict(row["user"])


async def update(graph: Graph, user_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    params = {k: changes.get(k) for k in ("display_name", "bio", "discoverable", "who_can_message")}
    row = await graph.write_one("users.update_profile", id=user_id, **params)
    if row is None:
        raise NotFound("user not found")
    return await me(graph, user_id)


async def revoke_tokens(graph: Graph, user_id: str) -> None:
    await graph.write("users.bump_token_version", id=user_id)


async def delete(graph: Graph, user_id: str) -> None:
    await graph.write("users.delete", id=user_id)


# Operators (socialgraph user ...): every account, discoverable or not; never a hash.
ACCOUNTS = "users.accounts"  # cursor tag (core/paging.py)


async def account(graph: Graph, handle: str) -> dict[str, Any] | None:
    """One account by handle (case-insensitive), with `roles`, `source` and `has_password`."""
    row = await graph.read_one("users.account_by_handle", handle=handle)
    return None if row is None else dict(row["user"])


async def accounts(
    graph: Graph, prefix: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """Every account whose handle starts with `prefix`, by handle, one page at a time."""
    rows = await graph.read(
        ACCOUNTS, prefix=prefix, after=key_after(cursor, ACCOUNTS), limit=limit + 1
    )
    items, nxt = page(rows, limit, ACCOUNTS, lambda r: (r["key"],))
    return [r["user"] for r in items], nxt


async def set_password(graph: Graph, user_id: str, password_hash: StoredPassword) -> int | None:
    """Store a new credential (also for a user loaded without one) and revoke every token
    issued before, in one transaction. The new token version, None for an unknown id."""
    row = await graph.write_one(
        "users.set_password",
        id=user_id,
        password_hash=password_hash.hash,
        pepper_id=password_hash.pepper_id,
    )
    return None if row is None else int(row["token_version"])


async def search(
    graph: Graph, viewer_id: str, prefix: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """Discoverable users by handle prefix. `discoverable = false` hides a user here as it
    does from suggestions; the exact lookups (`public`, `public_by_handle`) still find them."""
    rows = await graph.read(
        "users.list_users",
        viewer_id=viewer_id,
        prefix=prefix,
        after=key_after(cursor, SEARCH),
        limit=limit + 1,
    )
    items, nxt = page(rows, limit, SEARCH, lambda r: (r["key"],))
    return [r["user"] for r in items], nxt
