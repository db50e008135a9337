"""Apply the constraints and indexes in `queries/schema/`, in file order, idempotently.

Every statement uses `IF NOT EXISTS`, so running the migration twice leaves the same
state. Runs at API startup and from `socialgraph db migrate`.
"""

from __future__ import annotations

from neo4j import AsyncDriver

from graph.db import Graph
from graph.queries import catalog

INDEX_WAIT_SECONDS = 120


async def migrate(driver: AsyncDriver, database: str) -> list[str]:
    graph = Graph(driver, database)
    applied: list[str] = []
    for query in sorted(catalog().area("schema"), key=lambda x: x.name):
        # Schema commands run in their own auto-commit transaction each.
        await graph.auto_commit(query)
        applied.append(query.name)
    await graph.auto_commit("system.await_indexes", seconds=INDEX_WAIT_SECONDS)
    return applied
