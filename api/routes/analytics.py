"""Analysts only: the named query catalog and read-only ad-hoc Cypher."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.deps import AnalystUser, GraphDep
from api.errors import responses
from api.schemas import AdhocQuery, CatalogEntryPublic, NamedQueryRun, QueryResult
from graph import adhoc, analytics

router = APIRouter(prefix="/analytics", tags=["analytics"])
QueryName = Annotated[str, Path(pattern=r"^[a-z0-9_.]{1,80}$")]


@router.get("/queries", response_model=list[CatalogEntryPublic])
async def catalog(_: AnalystUser) -> list[CatalogEntryPublic]:
    """The named queries with what each answers and its parameters (bounded: the catalog)."""
    return [CatalogEntryPublic(**vars(e)) for e in analytics.list_catalog()]


@router.post(
    "/queries/{name}",
    response_model=QueryResult,
    responses=responses(400, 404, notes={400: "rejected parameters", 404: "unknown query"}),
)
async def run_named(
    name: QueryName, body: NamedQueryRun, _: AnalystUser, graph: GraphDep
) -> QueryResult:
    result = await analytics.run_named(graph, name, body.params)
    return QueryResult(**result.to_dict())


@router.post(
    "/cypher",
    response_model=QueryResult,
    responses=responses(400, notes={400: "write attempt, syntax error or timeout"}),
)
async def run_cypher(body: AdhocQuery, _: AnalystUser, graph: GraphDep) -> QueryResult:
    """Ad-hoc Cypher in a READ transaction with a timeout and a row cap. Writes, syntax
    errors and timeouts come back as 400 with Neo4j's message; nothing changes."""
    result = await adhoc.run_adhoc(
        graph, body.query, body.params, timeout=body.timeout, row_cap=body.row_cap
    )
    return QueryResult(**result.to_dict())
