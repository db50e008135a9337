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
    operation_id="sendFriendRequest",
    summary="Ask to be friends",
    response_model=FriendRequestResult,
    status_code=status.HTTP_201_CREATED,
    responses=responses(400, 404, 409, notes={409: "blocked, already friends or already asked"}),
)
async def send_request(
    body: TargetUser, user: CurrentUser, graph: GraphDep, cache: CacheDep, inbox: InboxDep
) -> FriendRequestResult:
    """Ask to be friends. If they already asked you, this accepts (status `accepted`).
    Their open WebSockets get a `friend_request` event (docs/asyncapi.yaml)."""
    outcome = await services.send_request(graph, cache, inbox, user.id, body.user_id)
    return FriendRequestResult(user_id=body.user_id, status=outcome)


@router.get(
    "/friend-requests/incoming",
    operation_id="listIncomingFriendRequests",
    summary="Friend requests to me",
    response_model=Page[RequestItem],
    responses=responses(400),
)
async def incoming(
    user: CurrentUser, graph: GraphDep, limit: Limit = 20, cursor: Cursor = None
) -> Page[RequestItem]:
    """Pending requests other users sent me, newest first."""
    items, nxt = await friends.incoming(graph, user.id, limit, cursor)
    return Page[RequestItem](items=[RequestItem(**i) for i in items], next_cursor=nxt)


@router.get(
    "/friend-requests/outgoing",
    operation_id="listOutgoingFriendRequests",
    summary="My friend requests",
    response_model=Page[RequestItem],
    responses=responses(400),
)
async def outgoing(
    user: CurrentUser, graph: GraphDep, limit: Limit = 20, cursor: Cursor = None
) -> Page[RequestItem]:
    """My pending requests to other users, newest first."""
    items, nxt = await friends.outgoing(graph, user.id, limit, cursor)
    return Page[RequestItem](items=[RequestItem(**i) for i in items], next_cursor=nxt)


@router.post(
    "/friend-requests/{user_id}/accept",
    operation_id="acceptFriendRequest",
    summary="Accept a friend request",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(400, 404),
)
async def accept(
    user_id: Target, user: CurrentUser, graph: GraphDep, cache: CacheDep, inbox: InboxDep
) -> None:
    """Accept the pending request that `user_id` sent me: we are friends. Their open
    WebSockets get a `friend_request_accepted` event (docs/asyncapi.yaml)."""
    await services.accept(graph, cache, inbox, user.id, user_id)


@router.post(
    "/friend-requests/{user_id}/decline",
    operation_id="declineFriendRequest",
    summary="Decline a friend request",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(400, 404),
)
async def decline(user_id: Target, user: CurrentUser, graph: GraphDep, cache: CacheDep) -> None:
    """Decline the pending request that `user_id` sent me (they are not told)."""
    await services.decline(graph, cache, user.id, user_id)


@router.delete(
    "/friend-requests/{user_id}",
    operation_id="cancelFriendRequest",
    summary="Cancel my friend request",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(400, 404),
)
async def cancel(user_id: Target, user: CurrentUser, graph: GraphDep, cache: CacheDep) -> None:
    """Cancel the request I sent to `user_id`."""
    await services.cancel(graph, cache, user.id, user_id)


@router.get(
    "/users/{user_id}/friends",
    operation_id="listFriends",
    summary="A user's friends",
    response_model=Page[FriendItem],
    responses=responses(400, 404),
)
async def friends_of(
    user_id: Target, user: CurrentUser, graph: GraphDep, limit: Limit = 20, cursor: Cursor = None
) -> Page[FriendItem]:
    """Friends of `user_id` (mine with my own id), by handle; users blocked either way
    with me are left out."""
    items, nxt = await friends.friends_of(graph, user.id, user_id, limit, cursor)
    return Page[FriendItem](
        items=[FriendItem(user=i["user"], since=i["since"]) for i in items], next_cursor=nxt
    )


@router.get(
    "/users/{user_id}/mutual-friends",
    operation_id="listMutualFriends",
    summary="Friends we have in common",
    response_model=Page[UserRef],
    responses=responses(400, 404),
)
async def mutual(
    user_id: Target, user: CurrentUser, graph: GraphDep, limit: Limit = 20, cursor: Cursor = None
) -> Page[UserRef]:
    """Friends that I and `user_id` have in common, by handle."""
    items, nxt = await friends.mutual(graph, user.id, user_id, limit, cursor)
    return Page[UserRef](items=[UserRef(**i["user"]) for i in items], next_cursor=nxt)


@router.delete(
    "/friends/{user_id}",
    operation_id="removeFriend",
    summary="End a friendship",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(400, 404),
)
async def unfriend(user_id: Target, user: CurrentUser, graph: GraphDep, cache: CacheDep) -> None:
    """End my friendship with `user_id` (for both of us)."""
    await services.unfriend(graph, cache, user.id, user_id)


@router.post(
    "/blocks",
    operation_id="blockUser",
    summary="Block a user",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(400, 404),
)
async def block(
    body: TargetUser, user: CurrentUser, graph: GraphDep, cache: CacheDep, inbox: InboxDep
) -> None:
    """Block a user: ends the friendship and pending requests; hides each from the other,
    and hides your conversation with them (docs/inbox.md)."""
    await services.block(graph, cache, inbox, user.id, body.user_id)


@router.delete(
    "/blocks/{user_id}",
    operation_id="unblockUser",
    summary="Lift a block",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(404),
)
async def unblock(
    user_id: Target, user: CurrentUser, graph: GraphDep, cache: CacheDep, inbox: InboxDep
) -> None:
    """Lift a block: your conversation with them comes back as it was (docs/inbox.md)."""
    await services.unblock(graph, cache, inbox, user.id, user_id)


@router.get(
    "/blocks",
    operation_id="listBlocks",
    summary="Users I blocked",
    response_model=Page[BlockItem],
    responses=responses(400),
)
async def list_blocks(
    user: CurrentUser, graph: GraphDep, limit: Limit = 20, cursor: Cursor = None
) -> Page[BlockItem]:
    """Users I blocked, newest first."""
    items, nxt = await friends.blocks(graph, user.id, limit, cursor)
    return Page[BlockItem](items=[BlockItem(**i) for i in items], next_cursor=nxt)
