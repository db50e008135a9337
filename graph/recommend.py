"""Friend suggestions ("people you may know") and dismissals.

Candidates are friends of my friends, minus: me, my friends, anyone with a pending
request either way, anyone blocked either way, anyone I dismissed, and users who are
not discoverable. Each algorithm is one query file (`queries/recommend/<algorithm>`),
chosen through the `Algorithm` allow-list; scores equal networkx's textbook link
prediction scores on the full FRIENDS graph. A user without friends gets the
cold-start list instead (pending requesters, then popular users).

Contracts and trade-offs (hub cap, cursors, cold start) are in docs/recommendations.md.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args

from core import paging
from core.errors import Invalid, NotFound
from graph.db import Graph, Tx

Algorithm = Literal["common_neighbors", "adamic_adar", "resource_allocation", "jaccard"]
Reason = Literal["mutual_friends", "requested_you", "popular"]

ALGORITHMS: tuple[Algorithm, ...] = get_args(Algorithm)
_QUERY_BY_ALGORITHM: dict[Algorithm, str] = {a: f"recommend.{a}" for a in ALGORITHMS}
# Cursor tags (core/paging.py): one per ranking, one for the cold-start list.
_TAG_BY_ALGORITHM: dict[Algorithm, str] = {a: f"recommend.{a}" for a in ALGORITHMS}
_COLD_START_TAG = "recommend.cold_start"

DEFAULT_LIMIT = 20
# Friends with more friends than this are not expanded when generating candidates
# (scores of the candidates found stay exact). See docs/recommendations.md.
HUB_DEGREE = 1000
MAX_MUTUALS_SHOWN = 3
# The cold-start list's "popular" tier ranks at most this many users: the most-friended,
# computed by one scan of every user's degree (3.3 s on 100,000 users), so callers cache
# the pool (api/services.py) and each request only filters and scores it.
POPULAR_POOL = 1000

PopularPool = Callable[[], Awaitable[list[str]]]


# Results are plain slotted dataclasses: building one costs a fraction of a pydantic
# model's validation, and the API validates each page once, from attributes, into its
# response model (api/schemas.py) only when it serializes a cache miss.


@dataclass(slots=True)
class UserBrief:
    id: str
    handle: str
    display_name: str


@dataclass(slots=True)
class Suggestion:
    user: UserBrief
    score: float
    mutual_count: int
    # At most 3, ordered by id; mutual friends blocked by or with me are left out here
    # (they still count in score and mutual_count).
    mutual_friends: list[UserBrief]
    reason: Reason


@dataclass(slots=True)
class SuggestionPage:
    items: list[Suggestion]
    next_cursor: str | None


async def suggest(
    graph: Graph,
    user_id: str,
    *,
    algorithm: Algorithm = "adamic_adar",
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
    hub_degree: int = HUB_DEGREE,
    popular: PopularPool | None = None,
) -> SuggestionPage:
    """One page of suggestions, ordered by score desc then user id asc.

    Raises NotFound for an unknown user, Invalid for a bad limit, algorithm or cursor
    (including a cursor from another algorithm, or a ranked-list cursor once the user
    has no friends and gets the cold-start list, or the other way round).
    """
    if algorithm not in _QUERY_BY_ALGORITHM:
        raise Invalid("unknown algorithm", {"algorithm": algorithm, "allowed": list(ALGORITHMS)})
    paging.check_limit(limit)
    if hub_degree < 1:
        raise Invalid("hub_degree must be positive", {"hub_degree": hub_degree})

    async def work(tx: Tx) -> SuggestionPage:
        ranked: SuggestionPage | None = None
        if not _is_cold_start_cursor(cursor):
            # The ranked list first: nearly every caller has friends, and then this one
            # query is the whole request. Only an empty answer needs the friend count.
            ranked = await _ranked(tx, user_id, algorithm, limit, cursor, hub_degree)
            if ranked.items:
                return ranked
        row = await tx.one("recommend.user_degree", user_id=user_id)
        if row is None:
            raise NotFound("user not found", {"id": user_id})
        if row["degree"] == 0:
            pool = await popular() if popular else await popular_ids_in(tx)
            return await _cold_start(tx, user_id, pool, limit, cursor)
        return ranked or await _ranked(tx, user_id, algorithm, limit, cursor, hub_degree)

    # One read transaction: the friend count and the list see the same snapshot.
    return await graph.read_tx(work)


def _is_cold_start_cursor(cursor: str | None) -> bool:
    if cursor is None:
        return False
    try:
        values = paging.decode(cursor)
    except Invalid:
        return False  # malformed: the ranked path reports it
    return bool(values) and values[0] == _COLD_START_TAG


async def _ranked(
    tx: Tx, user_id: str, algorithm: Algorithm, limit: int, cursor: str | None, hub_degree: int
) -> SuggestionPage:
    tag = _TAG_BY_ALGORITHM[algorithm]
    after_score: float | None = None
    after_id: str | None = None
    if cursor is not None:
        _, after_score, after_id = paging.expect(cursor, tag, float, str)
    rows = await tx.page(
        _QUERY_BY_ALGORITHM[algorithm],
        user_id=user_id,
        hub_degree=hub_degree,
        after_score=after_score,
        after_id=after_id,
        limit=limit + 1,
    )
    items = [
        Suggestion(
            user=UserBrief(**r["user"]),
            score=float(r["score"]),
            mutual_count=r["mutual_count"],
            mutual_friends=[UserBrief(**m) for m in r["mutual_friends"]][:MAX_MUTUALS_SHOWN],
            reason="mutual_friends",
        )
        for r in rows[:limit]
    ]
    next_cursor = None
    if len(rows) > limit:  # the extra row only says a next page exists
        last = items[-1]
        next_cursor = paging.encode((tag, last.score, last.user.id))
    return SuggestionPage(items=items, next_cursor=next_cursor)


async def popular_ids(graph: Graph, n: int = POPULAR_POOL) -> list[str]:
    """The cold-start pool: the n discoverable users with the most friends."""

    async def work(tx: Tx) -> list[str]:
        return await popular_ids_in(tx, n)

    return await graph.read_tx(work)


async def popular_ids_in(tx: Tx, n: int = POPULAR_POOL) -> list[str]:
    return [r["id"] for r in await tx.run("recommend.popular_ids", n=n)]


async def _cold_start(
    tx: Tx, user_id: str, pool: list[str], limit: int, cursor: str | None
) -> SuggestionPage:
    after: tuple[Any, ...] = (None, None, None)
    if cursor is not None:
        after = paging.expect(cursor, _COLD_START_TAG, int, float, str)[1:]
    rows = await tx.page(
        "recommend.cold_start",
        user_id=user_id,
        popular_ids=pool,
        after_tier=after[0],
        after_score=after[1],
        after_id=after[2],
        limit=limit + 1,
    )
    items = [
        Suggestion(
            user=UserBrief(**r["user"]),
            score=float(r["score"]),
            mutual_count=0,
            mutual_friends=[],
            reason=r["reason"],
        )
        for r in rows[:limit]
    ]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = paging.encode(
            (_COLD_START_TAG, int(last["tier"]), float(last["score"]), last["user"]["id"])
        )
    return SuggestionPage(items=items, next_cursor=next_cursor)


async def dismiss(graph: Graph, user_id: str, other_id: str) -> None:
    """I no longer want `other_id` suggested. Idempotent; affects my suggestions only."""
    if user_id == other_id:
        raise Invalid("you cannot dismiss yourself")
    row = await graph.write_one("recommend.dismiss", user_id=user_id, other_id=other_id)
    if row is None or not row["me_found"]:
        raise NotFound("user not found", {"id": user_id})
    if not row["other_found"]:
        raise NotFound("user not found", {"id": other_id})
