"""Posts, likes and comments. Counters and affinity change in the same transaction as
the edge that causes them (see the query headers in `queries/posts/`)."""

from __future__ import annotations

import uuid
from typing import Any

from core.errors import Forbidden, NotFound
from graph.db import Graph
from graph.pages import page, time_id_after

# Cursor tags (core/paging.py): one per list.
BY_USER = "posts.by_user"
COMMENTS = "posts.comments"


def _new_id() -> str:
    return uuid.uuid4().hex


async def create(graph: Graph, me: str, text: str) -> dict[str, Any]:
    row = await graph.write_one("posts.create", me=me, id=_new_id(), text=text)
    if row is None:
        raise NotFound("your account no longer exists")
    return dict(row["post"])


async def get(graph: Graph, viewer: str, post_id: str) -> dict[str, Any]:
    row = await graph.read_one("posts.get", viewer_id=viewer, id=post_id)
    if row is None:
        raise NotFound("post not found", {"post_id": post_id})
    return dict(row["post"])


async def delete(graph: Graph, me: str, post_id: str) -> None:
    row = await graph.write_one("posts.delete", me=me, id=post_id)
    if row is None or row["deleted"] == 0:
        owner = await graph.read_one("posts.author_of", id=post_id)
        if owner is None:
            raise NotFound("post not found", {"post_id": post_id})
        raise Forbidden("only the author can delete a post", {"post_id": post_id})


async def list_by_user(
    graph: Graph, viewer: str, author: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    from graph import users

    if viewer != author:
        await users.public(graph, viewer, author)  # 404 when missing or blocked either way
    after_at, after_id = time_id_after(cursor, BY_USER)
    rows = await graph.read_page(
        "posts.list_by_user",
        instants=("post.created_at",),
        viewer_id=viewer,
        author_id=author,
        after_at=after_at,
        after_id=after_id,
        limit=limit + 1,
    )
    items, nxt = page(
        rows, limit, BY_USER, lambda r: (r["post"]["created_at"].isoformat(), r["post"]["id"])
    )
    return [r["post"] for r in items], nxt


async def like(graph: Graph, me: str, post_id: str) -> dict[str, Any]:
    await get(graph, me, post_id)  # 404 for missing posts and blocked authors
    row = await graph.write_one("posts.like", me=me, id=post_id)
    if row is None:
        raise NotFound("post not found", {"post_id": post_id})
    return dict(row)


async def unlike(graph: Graph, me: str, post_id: str) -> dict[str, Any]:
    await get(graph, me, post_id)
    row = await graph.write_one("posts.unlike", me=me, id=post_id)
    if row is None:
        raise NotFound("post not found", {"post_id": post_id})
    return dict(row)


async def comment(graph: Graph, me: str, post_id: str, text: str) -> dict[str, Any]:
    await get(graph, me, post_id)
    row = await graph.write_one("posts.comment", me=me, post_id=post_id, id=_new_id(), text=text)
    if row is None:
        raise NotFound("post not found", {"post_id": post_id})
    return dict(row["comment"])


async def delete_comment(graph: Graph, me: str, post_id: str, comment_id: str) -> None:
    await get(graph, me, post_id)
    row = await graph.write_one("posts.delete_comment", me=me, post_id=post_id, id=comment_id)
    if row is None or row["deleted"] == 0:
        exists = await graph.read_one("posts.comment_exists", post_id=post_id, id=comment_id)
        if not exists or not exists["exists"]:
            raise NotFound("comment not found", {"comment_id": comment_id})
        raise Forbidden("only the comment's author or the post's author can delete it")


async def comments(
    graph: Graph, viewer: str, post_id: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    await get(graph, viewer, post_id)
    after_at, after_id = time_id_after(cursor, COMMENTS)
    rows = await graph.read_page(
        "posts.list_comments",
        instants=("comment.created_at",),
        viewer_id=viewer,
        post_id=post_id,
        after_at=after_at,
        after_id=after_id,
        limit=limit + 1,
    )
    items, nxt = page(
        rows,
        limit,
        COMMENTS,
        lambda r: (r["comment"]["created_at"].isoformat(), r["comment"]["id"]),
    )
    return [r["comment"] for r in items], nxt
