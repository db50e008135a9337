"""Feed candidates: what a user's home feed may show, with why each post is there.

Sources: posts by my friends (`posted_by`), optionally by friends of friends
(`scope="fof"`, `posted_by_fof`), and posts my friends liked or commented on
(`liked_by`, `commented_by`; `include_interactions`). Never my own posts, never posts
by anyone blocked either way, and a friend I blocked (or who blocked me) contributes
nothing. Each post appears once, with every reason that applies.

The order picks a whole query file (`queries/feed/recent|top`) through the `Order`
allow-list, since it changes the sort key and the keyset. Scope and the interactions
flag are values, not names: they go in as boolean parameters that switch a UNION
branch off before it expands anything. Formula, hub cap and paging guarantees are in
docs/recommendations.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from core import paging
from core.errors import Invalid, NotFound
from graph.db import Graph, Tx
from graph.recommend import HUB_DEGREE, UserBrief

Scope = Literal["friends", "fof"]
Order = Literal["recent", "top"]
ReasonCode = Literal["posted_by", "posted_by_fof", "liked_by", "commented_by"]

_QUERY_BY_ORDER: dict[Order, str] = {"recent": "feed.recent", "top": "feed.top"}
# Cursor tags (core/paging.py), one per order.
_RECENT_TAG = "feed.recent"
_TOP_TAG = "feed.top"
_SCOPES: tuple[Scope, ...] = ("friends", "fof")
# Reasons are listed authorship first, then interactions.
_REASON_RANK: dict[str, int] = {
    "posted_by": 0,
    "posted_by_fof": 1,
    "liked_by": 2,
    "commented_by": 3,
}

DEFAULT_LIMIT = 20
HALF_LIFE_HOURS = 24.0


# Plain slotted dataclasses, as in graph/recommend.py; the API's response models are
# in api/schemas.py.


@dataclass(slots=True)
class FeedPost:
    id: str
    text: str
    created_at: datetime
    like_count: int
    comment_count: int


@dataclass(slots=True)
class FeedReason:
    code: ReasonCode
    # The author for posted_by / posted_by_fof; the friend who liked or commented
    # otherwise (at most 3 friends per code, by id).
    user: UserBrief


@dataclass(slots=True)
class FeedItem:
    post: FeedPost
    author: UserBrief
    reasons: list[FeedReason]
    score: float | None = None  # set for order="top" only


@dataclass(slots=True)
class FeedPage:
    items: list[FeedItem]
    next_cursor: str | None


def _utc(value: datetime) -> datetime:
    # A naive datetime is taken as UTC: Neo4j would otherwise read it as a LocalDateTime,
    # which never compares with the stored DateTimes and would silently match nothing.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


async def feed(
    graph: Graph,
    user_id: str,
    *,
    scope: Scope = "friends",
    order: Order = "recent",
    before: datetime | None = None,
    include_interactions: bool = True,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
    now: datetime | None = None,
    hub_degree: int = HUB_DEGREE,
) -> FeedPage:
    """One page of feed candidates.

    recent: created_at desc, post id asc. top: score desc, post id asc, scored at `now`
    (default: the current time); the cursor carries the `now` of the first page, so a
    walk keeps one consistent ranking and a later `now` argument is ignored.
    Raises NotFound for an unknown user, Invalid for a bad scope, order, limit or cursor.
    """
    if order not in _QUERY_BY_ORDER:
        raise Invalid("unknown order", {"order": order, "allowed": list(_QUERY_BY_ORDER)})
    if scope not in _SCOPES:
        raise Invalid("unknown scope", {"scope": scope, "allowed": list(_SCOPES)})
    paging.check_limit(limit)
    if hub_degree < 1:
        raise Invalid("hub_degree must be positive", {"hub_degree": hub_degree})

    params: dict[str, Any] = {
        "user_id": user_id,
        "include_fof": scope == "fof",
        "include_interactions": include_interactions,
        "hub_degree": hub_degree,
        "before": _utc(before) if before is not None else None,
        "limit": limit + 1,
    }
    if order == "recent":
        after_key: str | None = None
        after_id: str | None = None
        if cursor is not None:
            _, after_key, after_id = paging.expect(cursor, _RECENT_TAG, str, str)
        params |= {"after_created_at": after_key, "after_id": after_id}
    else:
        when = _utc(now) if now is not None else datetime.now(UTC)
        after_score: float | None = None
        after_id = None
        if cursor is not None:
            _, when_iso, after_score, after_id = paging.expect(cursor, _TOP_TAG, str, float, str)
            try:
                when = _utc(datetime.fromisoformat(when_iso))
            except ValueError as exc:
                raise Invalid(paging.MALFORMED, {"cursor": "bad time"}) from exc
        params |= {
            "now": when,
            "half_life_hours": HALF_LIFE_HOURS,
            "after_score": after_score,
            "after_id": after_id,
        }

    async def work(tx: Tx) -> list[dict[str, Any]]:
        rows = await tx.page(_QUERY_BY_ORDER[order], instants=("post.created_at",), **params)
        # Only an empty page can mean an unknown user (as in recommend.suggest: one query
        # for the usual request, the existence check only when there is nothing to show).
        if not rows and await tx.one("feed.user_exists", user_id=user_id) is None:
            raise NotFound("user not found", {"id": user_id})
        return rows

    rows = await graph.read_tx(work)
    items = [_item(r, with_score=order == "top") for r in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:  # the extra row only says a next page exists
        last = rows[limit - 1]
        if order == "recent":
            next_cursor = paging.encode((_RECENT_TAG, last["created_key"], last["post"]["id"]))
        else:
            next_cursor = paging.encode(
                (_TOP_TAG, params["now"].isoformat(), float(last["score"]), last["post"]["id"])
            )
    return FeedPage(items=items, next_cursor=next_cursor)


def _item(row: dict[str, Any], *, with_score: bool) -> FeedItem:
    post = row["post"]
    reasons = [
        FeedReason(code=group["code"], user=UserBrief(**u))
        for group in sorted(row["reasons"], key=lambda g: _REASON_RANK[g["code"]])
        for u in group["users"]
    ]
    return FeedItem(
        post=FeedPost(
            id=post["id"],
            text=post.get("text") or "",
            created_at=post["created_at"],
            like_count=post.get("like_count") or 0,
            comment_count=post.get("comment_count") or 0,
        ),
        author=UserBrief(**row["author"]),
        reasons=reasons,
        score=float(row["score"]) if with_score else None,
    )
