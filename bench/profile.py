"""`PROFILE` of catalog queries: total db hits, rows per operator, server-side time.

The driver returns the profiled plan as a tree of operators; each carries its db hits
and rows (and, in Neo4j 5, page cache hits and misses). `flatten` lists them depth
first so the expensive operators can be ranked and printed.
"""

from __future__ import annotations

from typing import Any

from neo4j import Driver

from graph.db import SyncGraph
from graph.queries import q


def _num(plan: dict[str, Any], key: str, arg: str) -> int:
    value = plan.get(key)
    if value is None:
        value = plan.get("args", {}).get(arg, 0)
    return int(value or 0)


def flatten(plan: dict[str, Any], depth: int = 0) -> list[dict[str, Any]]:
    args = plan.get("args", {})
    row = {
        "depth": depth,
        "operator": str(plan.get("operatorType", "?")).split("@")[0],
        "details": str(args.get("Details", ""))[:160],
        "rows": _num(plan, "rows", "Rows"),
        "db_hits": _num(plan, "dbHits", "DbHits"),
        "page_cache_hits": _num(plan, "pageCacheHits", "PageCacheHits"),
        "page_cache_misses": _num(plan, "pageCacheMisses", "PageCacheMisses"),
    }
    out = [row]
    for child in plan.get("children", []):
        out.extend(flatten(child, depth + 1))
    return out


def profile(driver: Driver, database: str, name: str, params: dict[str, Any]) -> dict[str, Any]:
    query = q(name)
    rows, summary = SyncGraph(driver, database).profile(query, params)
    plan = summary.profile or {}
    ops = flatten(plan)
    return {
        "query": query.qualified_name,
        "params": params,
        "result_rows": rows,
        "db_hits": sum(op["db_hits"] for op in ops),
        "page_cache_misses": sum(op["page_cache_misses"] for op in ops),
        "server_ms": (summary.result_available_after or 0) + (summary.result_consumed_after or 0),
        "planner": str(plan.get("args", {}).get("planner-impl", "")),
        "runtime": str(plan.get("args", {}).get("runtime-impl", "")),
        "operators": ops,
    }


def top_operators(ops: list[dict[str, Any]], n: int = 8) -> list[dict[str, Any]]:
    return sorted(ops, key=lambda op: op["db_hits"], reverse=True)[:n]
