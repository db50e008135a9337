"""Posts, likes, comments."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from api import services
from api.deps import CacheDep, CurrentUser, Cursor, GraphDep, Limit
from api.errors import responses
from api.schemas import (
    CommentCreate,
    CommentPublic,
    LikeResult,
    Page,
    PostCreate,
    PostPublic,
    UserId,
)
from graph import posts

router = APIRouter(tags=["posts"])
PostId = Annotated[UserId, Path(description="Post id")]
CommentId = Annotated[UserId, Path(description="Comment id")]


@router.post(
    "/posts",
    response_model=PostPublic,
    status_code=status.HTTP_201_CREATED,
    responses=responses(400, 404),
)
async def create(
    body: PostCreate, user: CurrentUser, graph: GraphDep, cache: CacheDep
) -> PostPublic:
    return PostPublic(**await services.create_post(graph, cache, user.id, body.text))


@router.get("/posts/{post_id}", response_model=PostPublic, responses=responses(404))
async def get(post_id: PostId, user: CurrentUser, graph: GraphDep) -> PostPublic:
    return PostPublic(**await posts.get(graph, user.id, post_id))


@router.delete(
    "/posts/{post_id}", status_code=status.HTTP_204_NO_CONTENT, responses=responses(403, 404)
)
async def delete(post_id: PostId, user: CurrentUser, graph: GraphDep, cache: CacheDep) -> None:
    """Delete my post with its likes and comments (403 for someone else's)."""
    await services.delete_post(graph, cache, user.id, post_id)


@router.get(
    "/users/{user_id}/posts", response_model=Page[PostPublic], responses=responses(400, 404)
)
async def by_user(
    user_id: Annotated[UserId, Path()],
    user: CurrentUser,
    graph: GraphDep,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Page[PostPublic]:
    items, nxt = await posts.list_by_user(graph, user.id, user_id, limit, cursor)
    return Page[PostPublic](items=[PostPublic(**i) for i in items], next_cursor=nxt)


@router.put("/posts/{post_id}/like", response_model=LikeResult, responses=responses(404))
async def like(post_id: PostId, user: CurrentUser, graph: GraphDep, cache: CacheDep) -> LikeResult:
    """Idempotent: liking twice counts once."""
    r = await services.like(graph, cache, user.id, post_id)
    return LikeResult(post_id=post_id, liked=True, changed=r["created"], like_count=r["like_count"])


@router.delete("/posts/{post_id}/like", response_model=LikeResult, responses=responses(404))
async def unlike(
    post_id: PostId, user: CurrentUser, graph: GraphDep, cache: CacheDep
) -> LikeResult:
    r = await services.unlike(graph, cache, user.id, post_id)
    return LikeResult(
        post_id=post_id, liked=False, changed=r["removed"], like_count=r["like_count"]
    )


@router.post(
    "/posts/{post_id}/comments",
    response_model=CommentPublic,
    status_code=status.HTTP_201_CREATED,
    responses=responses(400, 404),
)
async def comment(
    post_id: PostId, body: CommentCreate, user: CurrentUser, graph: GraphDep, cache: CacheDep
) -> CommentPublic:
    return CommentPublic(**await services.comment(graph, cache, user.id, post_id, body.text))


@router.get(
    "/posts/{post_id}/comments", response_model=Page[CommentPublic], responses=responses(400, 404)
)
async def comments(
    post_id: PostId, user: CurrentUser, graph: GraphDep, limit: Limit = 20, cursor: Cursor = None
) -> Page[CommentPublic]:
    items, nxt = await posts.comments(graph, user.id, post_id, limit, cursor)
    return Page[CommentPublic](items=[CommentPublic(**i) for i in items], next_cursor=nxt)


@router.delete(
    "/posts/{post_id}/comments/{comment_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(403, 404),
)
async def delete_comment(
    post_id: PostId, comment_id: CommentId, user: CurrentUser, graph: GraphDep, cache: CacheDep
) -> None:
    """The comment's author or the post's author may delete it."""
    await services.delete_comment(graph, cache, user.id, post_id, comment_id)
