"""Friend requests, friendships, mutual friends, blocks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from api import services
from api.deps import CacheDep, CurrentUser, Cursor, GraphDep, InboxDep, Limit
from api.errors import responses
from api.schemas import (
    BlockItem,
    FriendItem,
    FriendRequestResult,
    Page,
    RequestItem,
    TargetUser,
    UserId,
    UserRef,
)
from graph import friends

router = APIRouter(tags=["friends"])
Target = Annotated[UserId, Path(description="The other user's id")]


@router.post(
    "/friend-requests",
    response_model=FriendRequestResult,
    status_code=status.HTTP_201_CREATED,
    responses=responses(400, 404, 409, notes={409: "blocked, already friends or already asked"}),
)
async def send_request(
    body: TargetUser, user: CurrentUser, graph: GraphDep, cache: CacheDep, inbox: InboxDep
) -> FriendRequestResult:
    """Ask to be friends. If they already asked you, this accepts (status `accepted`)."""
    outcome = await services.send_request(graph, cache, inbox, user.id, body.user_id)
    return FriendRequestResult(user_id=body.user_id, status=outcome)


@router.get("/friend-requests/incoming", response_model=Page[RequestItem], responses=responses(400))
async def incoming(
    user: CurrentUser, graph: GraphDep, limit: Limit = 20, cursor: Cursor = None
) -> Page[RequestItem]:
    items, nxt = await friends.incoming(graph, user.id, limit, cursor)
    return Page[RequestItem](items=[RequestItem(**i) for i in items], next_cursor=nxt)


@router.get("/friend-requests/outgoing", response_model=Page[RequestItem], responses=responses(400))
async def outgoing(
    user: CurrentUser, graph: GraphDep, limit: Limit = 20, cursor: Cursor = None
) -> Page[RequestItem]:
    items, nxt = await friends.outgoing(graph, user.id, limit, cursor)
    return Page[RequestItem](items=[RequestItem(**i) for i in items], next_cursor=nxt)


@router.post(
    "/friend-requests/{user_id}/accept",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(400, 404),
)
async def accept(
    user_id: Target, user: CurrentUser, graph: GraphDep, cache: CacheDep, inbox: InboxDep
) -> None:
    """Accept the pending request that `user_id` sent me."""
    await services.accept(graph, cache, inbox, user.id, user_id)


@router.post(
    "/friend-requests/{user_id}/decline",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(400, 404),
)
async def decline(user_id: Target, user: CurrentUser, graph: GraphDep, cache: CacheDep) -> None:
    await services.decline(graph, cache, user.id, user_id)


@router.delete(
    "/friend-requests/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(400, 404),
)
async def cancel(user_id: Target, user: CurrentUser, graph: GraphDep, cache: CacheDep) -> None:
    """Cancel the request I sent to `user_id`."""
    await services.cancel(graph, cache, user.id, user_id)


@router.get(
    "/users/{user_id}/friends", response_model=Page[FriendItem], responses=responses(400, 404)
)
async def friends_of(
    user_id: Target, user: CurrentUser, graph: GraphDep, limit: Limit = 20, cursor: Cursor = None
) -> Page[FriendItem]:
    items, nxt = await friends.friends_of(graph, user.id, user_id, limit, cursor)
    return Page[FriendItem](
        items=[FriendItem(user=i["user"], since=i["since"]) for i in items], next_cursor=nxt
    )


@router.get(
    "/users/{user_id}/mutual-friends", response_model=Page[UserRef], responses=responses(400, 404)
)
async def mutual(
    user_id: Target, user: CurrentUser, graph: GraphDep, limit: Limit = 20, cursor: Cursor = None
) -> Page[UserRef]:
    """Friends that I and `user_id` have in common."""
    items, nxt = await friends.mutual(graph, user.id, user_id, limit, cursor)
    return Page[UserRef](items=[UserRef(**i["user"]) for i in items], next_cursor=nxt)


@router.delete(
    "/friends/{user_id}", status_code=status.HTTP_204_NO_CONTENT, responses=responses(400, 404)
)
async def unfriend(user_id: Target, user: CurrentUser, graph: GraphDep, cache: CacheDep) -> None:
    await services.unfriend(graph, cache, user.id, user_id)


@router.post("/blocks", status_code=status.HTTP_204_NO_CONTENT, responses=responses(400, 404))
async def block(
    body: TargetUser, user: CurrentUser, graph: GraphDep, cache: CacheDep, inbox: InboxDep
) -> None:
    """Block a user: ends the friendship and pending requests; hides each from the other,
    and hides your conversation with them (docs/inbox.md)."""
    await services.block(graph, cache, inbox, user.id, body.user_id)


@router.delete(
    "/blocks/{user_id}", status_code=status.HTTP_204_NO_CONTENT, responses=responses(404)
)
async def unblock(
    user_id: Target, user: CurrentUser, graph: GraphDep, cache: CacheDep, inbox: InboxDep
) -> None:
    """Lift a block: your conversation with them comes back as it was (docs/inbox.md)."""
    await services.unblock(graph, cache, inbox, user.id, user_id)


@router.get("/blocks", response_model=Page[BlockItem], responses=responses(400))
async def list_blocks(
    user: CurrentUser, graph: GraphDep, limit: Limit = 20, cursor: Cursor = None
) -> Page[BlockItem]:
    items, nxt = await friends.blocks(graph, user.id, limit, cursor)
    return Page[BlockItem](items=[BlockItem(**i) for i in items], next_cursor=nxt)
