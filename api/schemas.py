"""Request and response models: every model the HTTP API reads or writes lives here.
Inputs forbid unknown fields (no mass assignment: a client cannot set its own id, counts
or roles). The data layer returns plain data (dicts, dataclasses); a route or service
turns it into these models.

Each model's docstring is its description in the OpenAPI document and each carries an
example (`examples(...)`); tests/test_openapi_contract.py checks that every schema has
both and that every example is valid against its schema.
"""

from __future__ import annotations

import inspect
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from graph import feed, recommend
from graph.queries import q

T = TypeVar("T")


def examples(*values: Any) -> ConfigDict:
    """The `model_config` that puts `values` in the model's JSON schema as `examples`."""
    return ConfigDict(json_schema_extra={"examples": list(values)})


def example_of(model: type[BaseModel]) -> Any:
    """The first example a model's config declares (None if it has none)."""
    extra = model.model_config.get("json_schema_extra")
    found = extra.get("examples") if isinstance(extra, dict) else None
    return found[0] if isinstance(found, list) and found else None


# The cast of the examples: ids are uuid4 hex strings, like the ones the API issues.
ALICE = {"id": "5f0c6a1e9b7d4e2a8c3b1d0e9f8a7b6c", "handle": "alice", "display_name": "Alice"}
BOB = {"id": "9a8b7c6d5e4f40312a1b2c3d4e5f6a7b", "handle": "bob", "display_name": "Bob Chen"}
CAROL = {"id": "c4a1d2e3f4b5467889a0b1c2d3e4f5a6", "handle": "carol", "display_name": None}
AT = "2025-03-14T09:26:53.589000Z"
POST_ID = "0b1c2d3e4f5a46b7c8d9e0f1a2b3c4d5"
CURSOR = "WyJ1c2Vycy5zZWFyY2giLCJib2IiLCI5YThiN2M2ZDVlNGY0MDMxMmExYjJjM2Q0ZTVmNmE3YiJd"
MESSAGE = {
    "id": "1741944413589-0",
    "conversation_id": f"{ALICE['id']}|{BOB['id']}",
    "from_id": ALICE["id"],
    "to_id": BOB["id"],
    "text": "See you at six?",
    "sent_at_ms": 1741944413589,
}

Handle = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]{3,30}$")]
UserId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Password = Annotated[str, StringConstraints(min_length=10, max_length=128)]
DisplayName = Annotated[str, StringConstraints(min_length=1, max_length=60, strip_whitespace=True)]
Bio = Annotated[str, StringConstraints(max_length=280)]
PostText = Annotated[str, StringConstraints(min_length=1, max_length=5000, strip_whitespace=True)]
CommentText = Annotated[
    str, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True)
]
WhoCanMessage = Literal["friends", "everyone", "nobody"]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _page_schema(schema: dict[str, Any], cls: type[BaseModel]) -> None:
    """A page's description (a parametrized class has no docstring of its own) and its
    example: one item, the example of the item's model, and a cursor."""
    schema.setdefault("description", inspect.cleandoc(Page.__doc__ or ""))
    (item,) = cls.__pydantic_generic_metadata__["args"] or (None,)
    if isinstance(item, type) and issubclass(item, BaseModel):
        schema["examples"] = [{"items": [example_of(item)], "next_cursor": CURSOR}]


class Page(BaseModel, Generic[T]):
    """One page of a list. `next_cursor` is null on the last page; otherwise pass it as
    `cursor` (with the same other parameters) for the next one."""

    model_config = ConfigDict(json_schema_extra=_page_schema)

    items: list[T]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page")


class Output(BaseModel):
    """A response model filled from a data-layer object's attributes."""

    @classmethod
    def json_of(cls, value: object) -> str:
        """`value` (a dataclass from `graph/`) as this model's JSON: one validation from
        attributes, then pydantic's serializer (no dict round trip)."""
        return cls.model_validate(value, from_attributes=True).model_dump_json()


# ------------------------------------------------------------------ users


class UserCreate(Input):
    """A new account. The handle is unique regardless of case."""

    model_config = examples(
        {
            "handle": "alice",
            "password": "correct-horse-battery",
            "display_name": "Alice",
            "bio": "Climbing, coffee and graphs.",
        }
    )

    handle: Handle
    password: Password
    display_name: DisplayName | None = None
    bio: Bio = ""


class UserUpdate(Input):
    """Changes to my profile: only the fields given change."""

    model_config = examples({"display_name": "Alice M.", "who_can_message": "everyone"})

    display_name: DisplayName | None = None
    bio: Bio | None = None
    discoverable: bool | None = None
    who_can_message: WhoCanMessage | None = None


class UserRef(BaseModel):
    """A user as other objects refer to one: id, handle and display name."""

    model_config = examples(ALICE)

    id: str
    handle: str
    display_name: str | None = None


class UserPublic(UserRef):
    """Another user's profile as I see it."""

    model_config = examples(
        {
            **BOB,
            "bio": "Runs on espresso.",
            "created_at": AT,
            "friend_count": 12,
            "post_count": 40,
            "is_friend": True,
        }
    )

    bio: str = ""
    created_at: datetime
    friend_count: int = 0
    post_count: int = 0
    is_friend: bool = False


class UserPrivate(UserRef):
    """My own profile, with my settings and roles."""

    model_config = examples(
        {
            **ALICE,
            "bio": "Climbing, coffee and graphs.",
            "created_at": AT,
            "discoverable": True,
            "who_can_message": "friends",
            "roles": [],
            "friend_count": 2,
            "post_count": 5,
        }
    )

    bio: str = ""
    created_at: datetime
    discoverable: bool
    who_can_message: WhoCanMessage
    roles: list[str] = []
    friend_count: int = 0
    post_count: int = 0


class Token(BaseModel):
    """A short-lived access token (send as `Authorization: Bearer <token>`) and a
    refresh token for `POST /v1/auth/refresh`; lifetimes in seconds."""

    model_config = examples(
        {
            "access_token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI1ZjBjIn0.c2lnbmF0dXJl",
            "token_type": "bearer",
            "expires_in": 900,
            "refresh_token": "eyJhbGciOiJIUzI1NiJ9.eyJmYW0iOiI3YTFiIn0.c2lnbmF0dXJl",
            "refresh_expires_in": 1209600,
        }
    )

    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


class RefreshIn(Input):
    """A refresh token to exchange (it is used up)."""

    model_config = examples(
        {"refresh_token": "eyJhbGciOiJIUzI1NiJ9.eyJmYW0iOiI3YTFiIn0.c2lnbmF0dXJl"}
    )

    refresh_token: Annotated[str, StringConstraints(max_length=4096)]


# ------------------------------------------------------------------ friends


class TargetUser(Input):
    """The user an action is about."""

    model_config = examples({"user_id": BOB["id"]})

    user_id: UserId


class FriendRequestResult(BaseModel):
    """`pending` for a new request; `accepted` when they had already asked me."""

    model_config = examples({"user_id": BOB["id"], "status": "pending"})

    user_id: str
    status: Literal["pending", "accepted"]


class RequestItem(BaseModel):
    """A pending friend request: the other user and when it was sent."""

    model_config = examples({"user": BOB, "created_at": AT})

    user: UserRef
    created_at: datetime


class FriendItem(BaseModel):
    """A friend and since when (null for friendships loaded without a date)."""

    model_config = examples({"user": BOB, "since": AT})

    user: UserRef
    since: datetime | None = None


class BlockItem(BaseModel):
    """A user I blocked and when."""

    model_config = examples({"user": CAROL, "at": AT})

    user: UserRef
    at: datetime


# ------------------------------------------------------------------ posts


class PostCreate(Input):
    """A new post (surrounding whitespace is removed)."""

    model_config = examples({"text": "First climb of the season!"})

    text: PostText


class PostPublic(BaseModel):
    """A post with its counts, its author and whether I liked it."""

    model_config = examples(
        {
            "id": POST_ID,
            "text": "First climb of the season!",
            "created_at": AT,
            "like_count": 3,
            "comment_count": 1,
            "author": ALICE,
            "liked_by_me": False,
        }
    )

    id: str
    text: str
    created_at: datetime
    like_count: int
    comment_count: int
    author: UserRef
    liked_by_me: bool = False


class LikeResult(BaseModel):
    """The like state after the call; `changed` is false when it already was so."""

    model_config = examples({"post_id": POST_ID, "liked": True, "changed": True, "like_count": 4})

    post_id: str
    liked: bool
    changed: bool
    like_count: int


class CommentCreate(Input):
    """A new comment (surrounding whitespace is removed)."""

    model_config = examples({"text": "Looks great!"})

    text: CommentText


class CommentPublic(BaseModel):
    """A comment on a post, with its author."""

    model_config = examples(
        {
            "id": "7e6d5c4b3a2940f1e0d9c8b7a6f5e4d3",
            "text": "Looks great!",
            "created_at": AT,
            "post_id": POST_ID,
            "author": BOB,
        }
    )

    id: str
    text: str
    created_at: datetime
    post_id: str
    author: UserRef


# ------------------------------------------------------------------ recommendations


class Suggestion(BaseModel):
    """Someone I may know, with the score that ranked them and why they are here."""

    model_config = examples(
        {
            "user": CAROL,
            "score": 1.4427,
            "mutual_count": 2,
            "mutual_friends": [BOB],
            "reason": "mutual_friends",
        }
    )

    user: UserRef
    score: float
    mutual_count: int
    # At most 3, ordered by id; mutual friends blocked by or with me are left out here
    # (they still count in score and mutual_count).
    mutual_friends: list[UserRef]
    reason: recommend.Reason


class SuggestionPage(Output):
    """A page of suggestions, best first; `next_cursor` as in every page."""

    model_config = examples({"items": [example_of(Suggestion)], "next_cursor": CURSOR})

    items: list[Suggestion]
    next_cursor: str | None


class FeedPost(BaseModel):
    """A post in the feed (its author is beside it, in the feed item)."""

    model_config = examples(
        {
            "id": POST_ID,
            "text": "First climb of the season!",
            "created_at": AT,
            "like_count": 3,
            "comment_count": 1,
        }
    )

    id: str
    text: str
    created_at: datetime
    like_count: int
    comment_count: int


class FeedReason(BaseModel):
    """Why a post is in my feed: who posted, liked or commented on it."""

    model_config = examples({"code": "liked_by", "user": BOB})

    code: feed.ReasonCode
    # The author for posted_by / posted_by_fof; the friend who liked or commented
    # otherwise (at most 3 friends per code, by id).
    user: UserRef


class FeedItem(BaseModel):
    """A feed candidate: the post, its author and every reason it is in my feed."""

    model_config = examples(
        {
            "post": example_of(FeedPost),
            "author": CAROL,
            "reasons": [
                {"code": "posted_by_fof", "user": CAROL},
                {"code": "liked_by", "user": BOB},
            ],
            "score": None,
        }
    )

    post: FeedPost
    author: UserRef
    reasons: list[FeedReason]
    score: float | None = None  # set for order="top" only


class FeedPage(Output):
    """A page of the feed in the order asked for; `next_cursor` as in every page."""

    model_config = examples({"items": [example_of(FeedItem)], "next_cursor": CURSOR})

    items: list[FeedItem]
    next_cursor: str | None


# ------------------------------------------------------------------ messages

MessageText = Annotated[str, StringConstraints(min_length=1, max_length=4000)]
IdempotencyKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,64}$")]
StreamId = Annotated[str, StringConstraints(pattern=r"^\d{1,20}-\d{1,10}$")]


class MessageCreate(Input):
    """A message to another user."""

    model_config = examples({"to": BOB["id"], "text": "See you at six?"})

    to: UserId
    text: MessageText


class MessagePublic(BaseModel):
    """A message of a conversation."""

    model_config = examples(MESSAGE)

    id: str = Field(description="Stream id `ms-seq`: unique and ordered within a conversation")
    conversation_id: str
    from_id: str
    to_id: str
    text: str
    sent_at_ms: int


class MessagePage(BaseModel):
    """Messages of one conversation, with the ids to page to older or newer ones."""

    model_config = examples(
        {"items": [MESSAGE], "older_cursor": "1741944400012-0", "newer_cursor": None}
    )

    items: list[MessagePublic] = Field(description="Newest first")
    older_cursor: str | None = Field(None, description="Pass as `before` for older messages")
    newer_cursor: str | None = Field(None, description="Pass as `after` for newer messages")


class ConversationItem(BaseModel):
    """A conversation in my list: the other user, the last message and my unread count."""

    model_config = examples(
        {
            "conversation_id": MESSAGE["conversation_id"],
            "with_user_id": BOB["id"],
            "last_message": MESSAGE,
            "unread": 0,
            "last_activity_ms": 1741944413589,
            "read_up_to": "1741944413589-0",
        }
    )

    conversation_id: str
    with_user_id: str
    last_message: MessagePublic | None
    unread: int
    last_activity_ms: int
    read_up_to: str | None


class MarkRead(Input):
    """The id of the last message read."""

    model_config = examples({"up_to": "1741944413589-0"})

    up_to: StreamId


class ReadState(BaseModel):
    """My read pointer in a conversation after the call."""

    model_config = examples({"read_up_to": "1741944413589-0"})

    read_up_to: str


class UnreadTotal(BaseModel):
    """Unread messages over my 500 most recent conversations."""

    model_config = examples({"total": 3})

    total: int


# ------------------------------------------------------------------ analytics


class CatalogEntryPublic(BaseModel):
    """A named analytics query: what it answers, its parameters and their defaults."""

    model_config = examples(
        {
            "name": "most_connected",
            "description": "The users with the most friends, highest degree first.",
            "params": ["limit"],
            "returns": "id, handle, display_name, degree",
            "defaults": {"limit": 20},
        }
    )

    name: str
    description: str
    params: list[str]
    returns: str
    defaults: dict[str, Any] = {}


def _bolt_integers(params: dict[str, Any]) -> dict[str, Any]:
    """Neo4j integers are 64-bit: a larger JSON integer is refused here (422) rather than
    crashing the driver's packer. Iterative, so deep nesting cannot exhaust the stack."""
    stack: list[Any] = [params]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, int) and not -(2**63) <= value < 2**63:
            raise ValueError("integer parameters must fit in 64 bits")
    return params


QueryParams = Annotated[dict[str, Any], AfterValidator(_bolt_integers)]


class NamedQueryRun(Input):
    """Parameters for a named query; those left out take the catalog's defaults."""

    model_config = examples({"params": {"limit": 5}})

    params: QueryParams = Field(default_factory=dict)


def _adhoc_example(schema: dict[str, Any]) -> None:
    """A catalog query as the example (Cypher text lives in queries/, never in .py)."""
    text = q("analytics.most_connected").text
    schema["examples"] = [{"query": text, "params": {"limit": 5}, "timeout": 5.0, "row_cap": 100}]


class AdhocQuery(Input):
    """Read-only Cypher with its parameters, a timeout and a row cap."""

    model_config = ConfigDict(json_schema_extra=_adhoc_example)

    query: Annotated[str, StringConstraints(min_length=1, max_length=20_000)]
    params: QueryParams = Field(default_factory=dict)
    timeout: float = Field(5.0, gt=0, le=30, description="Seconds; the server stops it after")
    row_cap: int = Field(1000, ge=1, le=10_000)


class PlanOperator(BaseModel):
    """One operator of Neo4j's plan for an EXPLAIN query, with the rows the planner
    expects it to produce and the operators it reads from."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "operator": "ProduceResults",
                    "details": "handle",
                    "estimated_rows": 34.0,
                    "identifiers": ["handle", "u"],
                    "children": [
                        {
                            "operator": "NodeByLabelScan",
                            "details": "u:User",
                            "estimated_rows": 34.0,
                            "identifiers": ["u"],
                            "children": [],
                        }
                    ],
                }
            ]
        }
    )

    operator: str
    details: str = ""
    estimated_rows: float | None = None
    identifiers: list[str] = []
    children: list[PlanOperator] = []


class QueryResult(BaseModel):
    """Rows of a read query; `truncated` when the row cap cut them."""

    model_config = examples(
        {
            "columns": ["id", "handle", "display_name", "degree"],
            "rows": [{**ALICE, "degree": 2}],
            "truncated": False,
            "elapsed_ms": 3.1,
            "notifications": [],
        }
    )

    columns: list[str]
    rows: list[dict[str, Any]]
    truncated: bool
    elapsed_ms: float
    notifications: list[str] = []
    plan: PlanOperator | None = Field(
        None, description="Neo4j's plan (operator tree) when the query is an EXPLAIN"
    )
