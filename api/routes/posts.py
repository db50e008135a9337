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
    operation_id="createPost",
    summary="Create a post",
    response_model=PostPublic,
    status_code=status.HTTP_201_CREATED,
    responses=responses(400, 404),
)
async def create(
    body: PostCreate, user: CurrentUser, graph: GraphDep, cache: CacheDep
) -> PostPublic:
    """Post as me. It reaches my friends' feeds (and friends of friends' with `scope=fof`)."""
    return PostPublic(**await services.create_post(graph, cache, user.id, body.text))


@router.get(
    "/posts/{post_id}",
    operation_id="getPost",
    summary="Get a post",
    response_model=PostPublic,
    responses=responses(404),
)
async def get(post_id: PostId, user: CurrentUser, graph: GraphDep) -> PostPublic:
    """A post with its counts and whether I liked it; 404 if it is hidden from me by a
    block either way."""
    return PostPublic(**await posts.get(graph, user.id, post_id))


@router.delete(
    "/posts/{post_id}",
    operation_id="deletePost",
    summary="Delete my post",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(403, 404),
)
async def delete(post_id: PostId, user: CurrentUser, graph: GraphDep, cache: CacheDep) -> None:
    """Delete my post with its likes and comments (403 for someone else's)."""
    await services.delete_post(graph, cache, user.id, post_id)


@router.get(
    "/users/{user_id}/posts",
    operation_id="listUserPosts",
    summary="A user's posts",
    response_model=Page[PostPublic],
    responses=responses(400, 404),
)
async def by_user(
    user_id: Annotated[UserId, Path()],
    user: CurrentUser,
    graph: GraphDep,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Page[PostPublic]:
    """Posts of `user_id`, newest first."""
    items, nxt = await posts.list_by_user(graph, user.id, user_id, limit, cursor)
    return Page[PostPublic](items=[PostPublic(**i) for i in items], next_cursor=nxt)


@router.put(
    "/posts/{post_id}/like",
    operation_id="likePost",
    summary="Like a post",
    response_model=LikeResult,
    responses=responses(404),
)
async def like(post_id: PostId, user: CurrentUser, graph: GraphDep, cache: CacheDep) -> LikeResult:
    """Idempotent: liking twice counts once."""
    r = await services.like(graph, cache, user.id, post_id)
    return LikeResult(post_id=post_id, liked=True, changed=r["created"], like_count=r["like_count"])


@router.delete(
    "/posts/{post_id}/like",
    operation_id="unlikePost",
    summary="Take back my like",
    response_model=LikeResult,
    responses=responses(404),
)
async def unlike(
    post_id: PostId, user: CurrentUser, graph: GraphDep, cache: CacheDep
) -> LikeResult:
    """Idempotent: unliking a post I do not like changes nothing (`changed` false)."""
    r = await services.unlike(graph, cache, user.id, post_id)
    return LikeResult(
        post_id=post_id, liked=False, changed=r["removed"], like_count=r["like_count"]
    )


@router.post(
    "/posts/{post_id}/comments",
    operation_id="createComment",
    summary="Comment on a post",
    response_model=CommentPublic,
    status_code=status.HTTP_201_CREATED,
    responses=responses(400, 404),
)
async def comment(
    post_id: PostId, body: CommentCreate, user: CurrentUser, graph: GraphDep, cache: CacheDep
) -> CommentPublic:
    """Comment as me on a post I can see."""
    return CommentPublic(**await services.comment(graph, cache, user.id, post_id, body.text))


@router.get(
    "/posts/{post_id}/comments",
    operation_id="listComments",
    summary="Comments on a post",
    response_model=Page[CommentPublic],
    responses=responses(400, 404),
)
async def comments(
    post_id: PostId, user: CurrentUser, graph: GraphDep, limit: Limit = 20, cursor: Cursor = None
) -> Page[CommentPublic]:
    """Comments on a post, oldest first."""
    items, nxt = await posts.comments(graph, user.id, post_id, limit, cursor)
    return Page[CommentPublic](items=[CommentPublic(**i) for i in items], next_cursor=nxt)


@router.delete(
    "/posts/{post_id}/comments/{comment_id}",
    operation_id="deleteComment",
    summary="Delete a comment",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(403, 404),
)
async def delete_comment(
    post_id: PostId, comment_id: CommentId, user: CurrentUser, graph: GraphDep, cache: CacheDep
) -> None:
    """The comment's author or the post's author may delete it."""
    await services.delete_comment(graph, cache, user.id, post_id, comment_id)
