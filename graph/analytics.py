"""The analysts' catalog: named read queries in `queries/analytics/`.

`list_catalog()` describes them (name, description, params, returns, defaults);
`run_named(graph, name, params)` runs one in the same rolled-back READ transaction,
timeout and row cap as ad-hoc Cypher (`graph.adhoc.run_read`), returning an
`AdhocResult`. Names are the file names (`degree_distribution`); the qualified
form `analytics.degree_distribution` is accepted too. Sub-folders (`export/`) hold
internal queries and are not part of the listing.

Parameter values
----------------
The API passes typed JSON values through unchanged. Command-line values arrive as
strings; `coerce_params` turns them into values by these rules:

* parameters named `*_id`, `handle`, `unit` or `after` are always text (an id made
  only of digits stays a string);
* any other value is read as JSON when it parses: `5` -> int, `0.5` -> float,
  `true`/`false` -> bool, `null` -> null, `[1, 2]` -> list, `"5"` -> the string 5;
* anything else is text (`day`, `t-17`).

Parameters left out take the defaults in `DEFAULTS` (`limit` 20, `unit` 'day') when
the query declares them; any other missing parameter is an error naming it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from neo4j import Driver

from core.errors import Invalid, NotFound
from graph.adhoc import DEFAULT_ROW_CAP, AdhocResult, run_read
from graph.db import Graph, SyncGraph
from graph.queries import Query, QueryParamError, catalog

AREA = "analytics"
DEFAULT_TIMEOUT = 30.0
DEFAULTS: Mapping[str, Any] = {"limit": 20, "unit": "day"}
TEXT_PARAMS = frozenset({"handle", "unit", "after"})

EgoDepth = Literal[1, 2, 3]
# Variable-length bounds cannot be parameters, so each depth is its own file.
EGO_QUERIES: Mapping[int, str] = {
    1: "analytics.ego_network_1",
    2: "analytics.ego_network_2",
    3: "analytics.ego_network_3",
}


class UnknownQuery(NotFound):
    """No analytics query by that name; the message lists the available ones."""


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    description: str
    params: list[str]
    returns: str
    defaults: dict[str, Any] = field(default_factory=dict)


def _entries() -> list[Query]:
    # Only read queries: run_named skips the ad-hoc plan check because these files
    # are reviewed code, and the READ transaction would refuse a write anyway.
    return sorted((q for q in catalog().area(AREA) if q.mode == "read"), key=lambda q: q.name)


def list_catalog() -> list[CatalogEntry]:
    """The analytics queries, sorted by name."""
    return [
        CatalogEntry(
            name=q.name,
            description=q.description,
            params=sorted(q.params),
            returns=q.returns,
            defaults={p: DEFAULTS[p] for p in sorted(q.params) if p in DEFAULTS},
        )
        for q in _entries()
    ]


def get_query(name: str) -> Query:
    """The analytics query `name` (or `analytics.name`); `UnknownQuery` lists the others."""
    short = name.removeprefix(f"{AREA}.")
    for q in _entries():
        if q.name == short:
            return q
    available = ", ".join(q.name for q in _entries())
    raise UnknownQuery(
        f"unknown analytics query {name!r}; available: {available}",
        {"available": [q.name for q in _entries()]},
    )


def ego_query_name(depth: int) -> str:
    """The catalog query for an ego network of `depth` (1, 2 or 3)."""
    try:
        return EGO_QUERIES[depth]
    except KeyError:
        raise Invalid(f"ego network depth must be 1, 2 or 3, not {depth}") from None


def parse_value(key: str, raw: str) -> Any:
    """One command-line value, by the rules in the module docstring."""
    if key.endswith("_id") or key in TEXT_PARAMS:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def coerce_params(raw: Mapping[str, str]) -> dict[str, Any]:
    return {k: parse_value(k, v) for k, v in raw.items()}


def bind(query: Query, params: Mapping[str, Any]) -> dict[str, Any]:
    """Fill defaults and check the parameters; `Invalid` names missing and unknown ones."""
    full = {p: DEFAULTS[p] for p in query.params if p in DEFAULTS and p not in params}
    full.update(params)
    try:
        return query.bind(full)
    except QueryParamError as exc:
        missing = sorted(query.params - set(full))
        unknown = sorted(set(full) - query.params)
        parts = []
        if missing:
            parts.append("missing parameter " + ", ".join(f"{m!r}" for m in missing))
        if unknown:
            parts.append("unknown parameter " + ", ".join(f"{u!r}" for u in unknown))
        declared = ", ".join(sorted(query.params)) or "none"
        raise Invalid(
            f"query {query.name!r}: " + "; ".join(parts) + f" (takes: {declared})",
            {"missing": missing, "unknown": unknown},
        ) from exc


async def run_named(
    graph: Graph,
    name: str,
    params: Mapping[str, Any] | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    row_cap: int = DEFAULT_ROW_CAP * 10,
    max_bytes: int | None = None,
) -> AdhocResult:
    """Run analytics query `name` with typed `params` (defaults filled in).

    Raises `UnknownQuery` (a `NotFound`), `Invalid` (missing/unknown params),
    `QueryRejected` (Neo4j refused a value, timeout, memory, a result over `max_bytes`)
    and `Unavailable`.
    """
    query = get_query(name)
    bound = bind(query, params or {})
    return await run_read(
        graph, query, bound, timeout=timeout, row_cap=row_cap, check=False, max_bytes=max_bytes
    )


def fetch_rows(
    driver: Driver,
    name: str,
    params: Mapping[str, Any] | None = None,
    *,
    database: str = "neo4j",
    timeout: float = DEFAULT_TIMEOUT,
) -> list[dict[str, Any]]:
    """Notebook helper: all rows of analytics query `name` as JSON-safe dicts (sync driver).

    Runs in a managed READ transaction with a server timeout; driver errors are raised
    as they are (a notebook wants the full Neo4j error).
    """
    query = get_query(name)
    bound = bind(query, params or {})
    return SyncGraph(driver, database).json_rows(query, bound, timeout)
