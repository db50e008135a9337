"""Analysts only: the named query catalog and read-only ad-hoc Cypher.

Every query takes a slot of the process's analyst budget (`core/budget.py`:
ANALYST_MAX_CONCURRENT at once, ANALYST_MAX_PER_USER per analyst; past either, 429 with
Retry-After) and is refused past ANALYST_MAX_RESULT_BYTES of JSON (400 `too_large`), so
analysts never hold every pooled Neo4j connection nor build a response of any size.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from api.deps import AnalystUser, GraphDep, SettingsDep
from api.errors import responses
from api.schemas import AdhocQuery, CatalogEntryPublic, NamedQueryRun, QueryResult
from core.budget import ConcurrencyBudget
from graph import adhoc, analytics

router = APIRouter(prefix="/analytics", tags=["analytics"])
QueryName = Annotated[str, Path(pattern=r"^[a-z0-9_.]{1,80}$")]


def analyst_budget(request: Request, settings: SettingsDep) -> ConcurrencyBudget:
    """The app's one budget, made from its settings on first use."""
    state = request.app.state
    budget: ConcurrencyBudget | None = getattr(state, "analyst_budget", None)
    if budget is None:
        budget = ConcurrencyBudget(
            settings.analyst_max_concurrent,
            settings.analyst_max_per_user,
            what="analyst queries",
        )
        state.analyst_budget = budget
    return budget


BudgetDep = Annotated[ConcurrencyBudget, Depends(analyst_budget)]
NOTES = {
    400: "rejected parameters or query, timeout, result over ANALYST_MAX_RESULT_BYTES, "
    "or refused by Neo4j's memory guard (details.reason)",
    429: "too many analyst queries running (details.scope: analyst or all)",
}


@router.get(
    "/queries",
    operation_id="listNamedQueries",
    summary="The named query catalog",
    response_model=list[CatalogEntryPublic],
)
async def catalog(_: AnalystUser) -> list[CatalogEntryPublic]:
    """The named queries with what each answers and its parameters (bounded: the catalog)."""
    return [CatalogEntryPublic(**vars(e)) for e in analytics.list_catalog()]


@router.post(
    "/queries/{name}",
    operation_id="runNamedQuery",
    summary="Run a named query",
    response_model=QueryResult,
    responses=responses(400, 404, 429, notes={**NOTES, 404: "unknown query"}),
)
async def run_named(
    name: QueryName,
    user: AnalystUser,
    graph: GraphDep,
    settings: SettingsDep,
    budget: BudgetDep,
    body: NamedQueryRun | None = None,  # no body: no parameters
) -> QueryResult:
    """Run the catalog query `name` (see `listNamedQueries`) in a READ transaction with
    a timeout, a row cap and a byte cap; parameters left out take the catalog's defaults."""
    with budget.slot(user.id):
        result = await analytics.run_named(
            graph,
            name,
            body.params if body else {},
            max_bytes=settings.analyst_max_result_bytes,
        )
    return QueryResult(**result.to_dict())


@router.post(
    "/cypher",
    operation_id="runCypher",
    summary="Run read-only Cypher",
    response_model=QueryResult,
    responses=responses(400, 429, notes=NOTES),
)
async def run_cypher(
    body: AdhocQuery,
    user: AnalystUser,
    graph: GraphDep,
    settings: SettingsDep,
    budget: BudgetDep,
) -> QueryResult:
    """Ad-hoc Cypher in a READ transaction with a timeout, a row cap and a byte cap. Writes,
    syntax errors, timeouts and results too large come back as 400 with the reason;
    nothing changes. EXPLAIN text is planned, not run, and returns Neo4j's plan in `plan`."""
    with budget.slot(user.id):
        result = await adhoc.run_adhoc(
            graph,
            body.query,
            body.params,
            timeout=body.timeout,
            row_cap=body.row_cap,
            max_bytes=settings.analyst_max_result_bytes,
        )
    return QueryResult(**result.to_dict())
