"""Apply the constraints and indexes in `queries/schema/`, in file order, idempotently.

Every statement uses `IF NOT EXISTS`, so running the migration twice leaves the same
state. Runs at API startup and from `socialgraph db migrate`.
"""

from __future__ import annotations

from neo4j import AsyncDriver

from graph.queries import catalog


async def migrate(driver: AsyncDriver, database: str) -> list[str]:
    applied: list[str] = []
    async with driver.session(database=database) as session:
        for query in sorted(catalog().area("schema"), key=lambda x: x.name):
            # Schema commands run in their own auto-commit transaction each.
            await (await session.run(query.text)).consume()
            applied.append(query.name)
        await (await session.run("CALL db.awaitIndexes(120)")).consume()
    return applied
