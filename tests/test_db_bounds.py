"""Every Neo4j call has an end: a caller waiting for a pooled connection (or for a server
that does not answer) gets a 503-class error after the transaction timeout plus a bounded
wait, not after the driver's own, much longer, acquisition and retry budget."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from neo4j import AsyncTransaction

from core.config import Settings
from core.errors import Unavailable
from graph import adhoc
from graph.db import Graph, open_async_driver


@asynccontextmanager
async def pool_exhausted(
    settings: Settings, **overrides: Any
) -> AsyncIterator[tuple[Graph, AsyncTransaction]]:
    """A Graph on a one-connection pool, and the open transaction holding that connection
    (rolled back at the end of the block if the test did not release it first)."""
    one = settings.model_copy(update={"neo4j_pool_size": 1, **overrides})
    driver = await open_async_driver(one)
    try:
        async with driver.session(database=one.neo4j_database) as held:
            tx = await held.begin_transaction()
            await (await tx.run("RETURN 1")).consume()
            yield Graph(driver, one.neo4j_database, timeout=1.0, wait_bound=0.5), tx
            if not tx.closed():
                await tx.rollback()
    finally:
        await driver.close()


async def test_waiting_for_a_connection_is_bounded(settings: Settings) -> None:
    async with pool_exhausted(settings) as (graph, held):
        started = time.monotonic()
        with pytest.raises(Unavailable):
            await graph.read("system.ping")
        waited = time.monotonic() - started
        await held.rollback()
        await graph.ping()  # the connection is back: calls work again
    # Without the bound this waits for connection_acquisition_timeout (2 x 5 s).
    assert waited < 4.0, f"waited {waited:.1f} s"


async def test_adhoc_query_without_a_connection_is_unavailable(settings: Settings) -> None:
    """The analysts' ad-hoc path talks to the driver itself: no pooled connection in time is
    a 503-class error there too, not a 400 "the query could not be sent"."""
    async with pool_exhausted(settings, neo4j_connect_timeout=0.5) as (graph, _):
        with pytest.raises(Unavailable):
            await adhoc.run_read(graph, "RETURN 1 AS x", {}, timeout=1.0, row_cap=10, check=False)
