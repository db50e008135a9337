"""Direct messages: send (idempotent), conversations, history both ways, read state."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Response, status

from api import services
from api.deps import CacheDep, CurrentUser, Cursor, GraphDep, InboxDep, Limit, RedisDep, SettingsDep
from api.errors import responses
from api.schemas import (
    ConversationItem,
    IdempotencyKey,
    MarkRead,
    MessageCreate,
    MessagePage,
    MessagePublic,
    Page,
    ReadState,
    StreamId,
    UnreadTotal,
    UserId,
)
from core.errors import Invalid
from redislayer import ratelimit

router = APIRouter(tags=["messages"])
Other = Annotated[UserId, Path(description="The other participant's user id")]


@router.post(
    "/messages",
    operation_id="sendMessage",
    summary="Send a message",
    response_model=MessagePublic,
    status_code=status.HTTP_201_CREATED,
    response_description="Sent",
    responses={
        200: {
            "model": MessagePublic,
            "description": "Idempotent replay: this key was sent before; the original message",
            "headers": {
                "Idempotent-Replayed": {
                    "description": "`true`: this answer replays an earlier send",
                    "required": True,
                    "schema": {"type": "string", "enum": ["true"]},
                }
            },
        },
        **responses(
            400,
            403,
            404,
            409,
            429,
            503,
            notes={
                400: "messaging yourself, or an unparsable body",
                403: "recipient does not accept messages from you",
                404: "no such recipient (or they blocked you)",
                409: "idempotency key reused with another body, or you blocked the recipient",
                429: "send rate exceeded",
                503: "Redis unavailable",
            },
        ),
    },
)
async def send(
    body: MessageCreate,
    user: CurrentUser,
    graph: GraphDep,
    cache: CacheDep,
    inbox: InboxDep,
    redis: RedisDep,
    settings: SettingsDep,
    response: Response,
    idempotency_key: Annotated[IdempotencyKey, Header(alias="Idempotency-Key")],
) -> MessagePublic:
    """Send a message. Retrying with the same `Idempotency-Key` and body returns the original
    message (200, with `Idempotent-Replayed: true`) and creates nothing; keys are
    remembered for 25 hours. The recipient's open WebSockets get a `message` event
    (docs/asyncapi.yaml)."""
    await ratelimit.hit(redis, user.id, "send", settings.send_rate_per_10s, 10, fail_open=False)
    message, created = await services.send_message(
        graph,
        cache,
        inbox,
        user.id,
        body.to,
        body.text,
        idempotency_key,
        settings.messages_per_conversation,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
        response.headers["Idempotent-Replayed"] = "true"
    return MessagePublic(**message)


@router.get(
    "/conversations",
    operation_id="listConversations",
    summary="My conversations",
    response_model=Page[ConversationItem],
    responses=responses(400),
)
async def conversations(
    user: CurrentUser, inbox: InboxDep, limit: Limit = 20, cursor: Cursor = None
) -> Page[ConversationItem]:
    """My conversations, most recent first, with the last message and my unread count."""
    items, nxt = await inbox.conversations(user.id, limit, cursor or None)
    return Page[ConversationItem](items=[ConversationItem(**i) for i in items], next_cursor=nxt)


@router.get(
    "/conversations/{user_id}/messages",
    operation_id="listMessages",
    summary="Messages of a conversation",
    response_model=MessagePage,
    responses=responses(400),
)
async def history(
    user_id: Other,
    user: CurrentUser,
    inbox: InboxDep,
    limit: Limit = 20,
    before: Annotated[StreamId | None, Query(description="Older than this id")] = None,
    after: Annotated[StreamId | None, Query(description="Newer than this id")] = None,
) -> MessagePage:
    """History of my conversation with `user_id`, newest first; page with `before`/`after`."""
    if before and after:
        raise Invalid("give `before` or `after`, not both")
    msgs, older, newer = await inbox.history(user.id, user_id, limit, before, after)
    return MessagePage(
        items=[MessagePublic(**m.as_dict()) for m in msgs], older_cursor=older, newer_cursor=newer
    )


@router.post(
    "/conversations/{user_id}/read",
    operation_id="markConversationRead",
    summary="Mark a conversation read",
    response_model=ReadState,
    responses=responses(400),
)
async def mark_read(
    user_id: Other, body: MarkRead, user: CurrentUser, inbox: InboxDep
) -> ReadState:
    """Mark my conversation with `user_id` read up to a message (never moves backwards)."""
    return ReadState(read_up_to=await inbox.mark_read(user.id, user_id, body.up_to))


@router.get(
    "/messages/unread",
    operation_id="countUnreadMessages",
    summary="Count my unread messages",
    response_model=UnreadTotal,
)
async def unread(user: CurrentUser, inbox: InboxDep) -> dict[str, Any]:
    """Total unread messages over my 500 most recent conversations."""
    return {"total": await inbox.total_unread(user.id)}
