"""Profiles: me, update, delete, look up by id or handle, search by handle prefix."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from api import services
from api.deps import CacheDep, CurrentUser, Cursor, GraphDep, InboxDep, Limit
from api.errors import responses
from api.schemas import Handle, Page, UserId, UserPrivate, UserPublic, UserRef, UserUpdate
from graph import users

router = APIRouter(prefix="/users", tags=["users"])


@router.get(
    "/me",
    operation_id="getMe",
    summary="My profile",
    response_model=UserPrivate,
    responses=responses(404),
)
async def get_me(user: CurrentUser, graph: GraphDep) -> UserPrivate:
    """My profile with my settings (`discoverable`, `who_can_message`) and roles."""
    return UserPrivate(**await users.me(graph, user.id))


@router.patch(
    "/me",
    operation_id="updateMe",
    summary="Update my profile",
    response_model=UserPrivate,
    responses=responses(400, 404),
)
async def update_me(
    body: UserUpdate, user: CurrentUser, graph: GraphDep, cache: CacheDep
) -> UserPrivate:
    """Change the fields given (a null leaves a field as it is); returns my profile."""
    changes = body.model_dump(exclude_none=True)
    return UserPrivate(**await services.update_profile(graph, cache, user.id, changes))


@router.delete(
    "/me",
    operation_id="deleteMe",
    summary="Delete my account",
    status_code=status.HTTP_204_NO_CONTENT,
)
async def delete_me(user: CurrentUser, graph: GraphDep, cache: CacheDep, inbox: InboxDep) -> None:
    """Delete my account, posts and comments, and my messages from every conversation
    (docs/inbox.md). My tokens stop working at once. A 503 deleted nothing: retry."""
    await services.delete_account(graph, cache, inbox, user.id)


@router.get(
    "",
    operation_id="searchUsers",
    summary="Search users by handle",
    response_model=Page[UserRef],
    responses=responses(400),
)
async def search(
    user: CurrentUser,
    graph: GraphDep,
    prefix: Annotated[str, Query(min_length=1, max_length=30, pattern=r"^[A-Za-z0-9_]+$")],
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Page[UserRef]:
    """Users whose handle starts with `prefix`. Users who set `discoverable` to false are
    not listed; the exact lookups by handle or id still find them."""
    items, nxt = await users.search(graph, user.id, prefix, limit, cursor)
    return Page[UserRef](items=[UserRef(**i) for i in items], next_cursor=nxt)


@router.get(
    "/by-handle/{handle}",
    operation_id="getUserByHandle",
    summary="Look a user up by handle",
    response_model=UserPublic,
    responses=responses(404),
)
async def by_handle(
    handle: Annotated[Handle, Path()], user: CurrentUser, graph: GraphDep
) -> UserPublic:
    """The profile of the user with this handle (any case); 404 if none, or if we block
    each other."""
    return UserPublic(**await users.public_by_handle(graph, user.id, handle))


@router.get(
    "/{user_id}",
    operation_id="getUser",
    summary="Get a user's profile",
    response_model=UserPublic,
    responses=responses(404),
)
async def by_id(
    user_id: Annotated[UserId, Path()], user: CurrentUser, graph: GraphDep, cache: CacheDep
) -> UserPublic:
    """The profile of `user_id` as I see it; 404 if none, or if we block each other.
    Cached; unknown ids are remembered for a minute (negative cache)."""
    return UserPublic(**await services.profile(graph, cache, user.id, user_id))
