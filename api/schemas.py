"""Request and response models: every model the HTTP API reads or writes lives here.
Inputs forbid unknown fields (no mass assignment: a client cannot set its own id, counts
or roles). The data layer returns plain data (dicts, dataclasses); a route or service
turns it into these models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from graph import feed, recommend

T = TypeVar("T")

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


class Page(BaseModel, Generic[T]):
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
    handle: Handle
    password: Password
    display_name: DisplayName | None = None
    bio: Bio = ""


class UserUpdate(Input):
    display_name: DisplayName | None = None
    bio: Bio | None = None
    discoverable: bool | None = None
    who_can_message: WhoCanMessage | None = None


class UserRef(BaseModel):
    id: str
    handle: str
    display_name: str | None = None


class UserPublic(UserRef):
    bio: str = ""
    created_at: datetime
    friend_count: int = 0
    post_count: int = 0
    is_friend: bool = False


class UserPrivate(UserRef):
    bio: str = ""
    created_at: datetime
    discoverable: bool
    who_can_message: WhoCanMessage
    roles: list[str] = []
    friend_count: int = 0
    post_count: int = 0


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


class RefreshIn(Input):
    refresh_token: Annotated[str, StringConstraints(max_length=4096)]


# ------------------------------------------------------------------ friends


class TargetUser(Input):
    user_id: UserId


class FriendRequestResult(BaseModel):
    user_id: str
    status: Literal["pending", "accepted"]


class RequestItem(BaseModel):
    user: UserRef
    created_at: datetime


class FriendItem(BaseModel):
    user: UserRef
    since: datetime | None = None


class BlockItem(BaseModel):
    user: UserRef
    at: datetime


# ------------------------------------------------------------------ posts


class PostCreate(Input):
    text: PostText


class PostPublic(BaseModel):
    id: str
    text: str
    created_at: datetime
    like_count: int
    comment_count: int
    author: UserRef
    liked_by_me: bool = False


class LikeResult(BaseModel):
    post_id: str
    liked: bool
    changed: bool
    like_count: int


class CommentCreate(Input):
    text: CommentText


class CommentPublic(BaseModel):
    id: str
    text: str
    created_at: datetime
    post_id: str
    author: UserRef


# ------------------------------------------------------------------ recommendations


class Suggestion(BaseModel):
    user: UserRef
    score: float
    mutual_count: int
    # At most 3, ordered by id; mutual friends blocked by or with me are left out here
    # (they still count in score and mutual_count).
    mutual_friends: list[UserRef]
    reason: recommend.Reason


class SuggestionPage(Output):
    items: list[Suggestion]
    next_cursor: str | None


class FeedPost(BaseModel):
    id: str
    text: str
    created_at: datetime
    like_count: int
    comment_count: int


class FeedReason(BaseModel):
    code: feed.ReasonCode
    # The author for posted_by / posted_by_fof; the friend who liked or commented
    # otherwise (at most 3 friends per code, by id).
    user: UserRef


class FeedItem(BaseModel):
    post: FeedPost
    author: UserRef
    reasons: list[FeedReason]
    score: float | None = None  # set for order="top" only


class FeedPage(Output):
    items: list[FeedItem]
    next_cursor: str | None


# ------------------------------------------------------------------ messages

MessageText = Annotated[str, StringConstraints(min_length=1, max_length=4000)]
IdempotencyKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,64}$")]
StreamId = Annotated[str, StringConstraints(pattern=r"^\d{1,20}-\d{1,10}$")]


class MessageCreate(Input):
    to: UserId
    text: MessageText


class MessagePublic(BaseModel):
    id: str = Field(description="Stream id `ms-seq`: unique and ordered within a conversation")
    conversation_id: str
    from_id: str
    to_id: str
    text: str
    sent_at_ms: int


class MessagePage(BaseModel):
    items: list[MessagePublic] = Field(description="Newest first")
    older_cursor: str | None = Field(None, description="Pass as `before` for older messages")
    newer_cursor: str | None = Field(None, description="Pass as `after` for newer messages")


class ConversationItem(BaseModel):
    conversation_id: str
    with_user_id: str
    last_message: MessagePublic | None
    unread: int
    last_activity_ms: int
    read_up_to: str | None


class MarkRead(Input):
    up_to: StreamId


class ReadState(BaseModel):
    read_up_to: str


class UnreadTotal(BaseModel):
    total: int


# ------------------------------------------------------------------ analytics


class CatalogEntryPublic(BaseModel):
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
    params: QueryParams = Field(default_factory=dict)


class AdhocQuery(Input):
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
    columns: list[str]
    rows: list[dict[str, Any]]
    truncated: bool
    elapsed_ms: float
    notifications: list[str] = []
    plan: PlanOperator | None = Field(
        None, description="Neo4j's plan (operator tree) when the query is an EXPLAIN"
    )
