"""Friend suggestions and feed candidates (cached; see docs/recommendations.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from api import services
from api.deps import CacheDep, CurrentUser, Cursor, GraphDep, Limit
from api.errors import responses
from api.schemas import FeedPage, SuggestionPage, UserId
from graph import feed, recommend

router = APIRouter(tags=["recommendations"])


@router.get(
    "/suggestions",
    operation_id="listSuggestions",
    summary="People I may know",
    response_model=SuggestionPage,
    responses=responses(400, 404),
)
async def suggestions(
    user: CurrentUser,
    graph: GraphDep,
    cache: CacheDep,
    algorithm: Annotated[recommend.Algorithm, Query(description="Ranking")] = "adamic_adar",
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Response:
    """People I may know: friends of friends ranked by the chosen link-prediction score,
    each with the mutual-friend count and up to 3 of them; a cold-start list (reason
    `requested_you` or `popular`) when I have no friends yet."""
    page = await services.suggestions(graph, cache, user.id, algorithm, limit, cursor)
    return Response(page, media_type="application/json")  # already JSON (cached text)


@router.post(
    "/suggestions/{user_id}/dismiss",
    operation_id="dismissSuggestion",
    summary="Dismiss a suggestion",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(400, 404),
)
async def dismiss(
    user_id: Annotated[UserId, Path()], user: CurrentUser, graph: GraphDep, cache: CacheDep
) -> None:
    """Never suggest `user_id` to me again (mine alone)."""
    await services.dismiss(graph, cache, user.id, user_id)


@router.get(
    "/feed",
    operation_id="getFeed",
    summary="My feed",
    response_model=FeedPage,
    responses=responses(400, 404),
)
async def get_feed(
    user: CurrentUser,
    graph: GraphDep,
    cache: CacheDep,
    scope: Annotated[feed.Scope, Query()] = "friends",
    order: Annotated[feed.Order, Query()] = "recent",
    before: Annotated[datetime | None, Query(description="Only posts created before")] = None,
    include_interactions: Annotated[
        bool, Query(description="Add posts friends liked or commented on")
    ] = True,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Response:
    """Feed candidates with the reasons each post is there: posts of my friends (and, with
    `scope=fof`, of their friends), and with `include_interactions` posts my friends liked
    or commented on. `order=recent` is newest first (`before` starts older); `order=top`
    ranks by a score of the post's age, likes and comments and my interactions with its
    author (then each item has `score`; docs/recommendations.md)."""
    page = await services.feed_page(
        graph,
        cache,
        user.id,
        scope=scope,
        order=order,
        before=before,
        include_interactions=include_interactions,
        limit=limit,
        cursor=cursor,
    )
    return Response(page, media_type="application/json")  # already JSON (cached text)
