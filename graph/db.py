"""Driver lifecycle and the one way the code runs a catalog query.

The async driver is opened once (API lifespan, CLI command) and closed after it.
`Graph` runs named queries from the catalog: reads in READ-routed managed
transactions, writes in WRITE ones, each with a server-side timeout. Transaction
functions may be retried by the driver, so the write queries are idempotent
(MERGE, guards), and results are consumed inside the transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import neo4j
import neo4j.time
from neo4j import AsyncDriver, AsyncGraphDatabase, AsyncManagedTransaction, Driver, GraphDatabase
from neo4j.exceptions import (
    AuthError,
    ClientError,
    ConnectionPoolError,
    ConstraintError,
    DatabaseUnavailable,
    ServiceUnavailable,
    SessionExpired,
    TransientError,
)
from prometheus_client import Counter

from core.config import Settings
from core.errors import Conflict, QueryRejected, Unavailable
from graph import serialize
from graph.queries import Query, q

T = TypeVar("T")
QUERIES = Counter("sg_neo4j_queries_total", "Catalog queries sent to Neo4j", ["query"])
Row = dict[str, Any]


class Neo4jConnectError(Exception):
    """At startup: server unreachable or credentials wrong. The message says what to do."""


def _driver_kwargs(settings: Settings) -> dict[str, Any]:
    return {
        "auth": (settings.neo4j_user, settings.neo4j_password),
        "connection_timeout": settings.neo4j_connect_timeout,
        "connection_acquisition_timeout": settings.neo4j_connect_timeout * 2,
        "max_connection_pool_size": settings.neo4j_pool_size,
        "max_transaction_retry_time": 5.0,
        "keep_alive": True,
        # Server notifications (unknown labels in an empty graph, deprecations) would be
        # logged as warnings on every query; queries are reviewed in files instead.
        "notifications_min_severity": "OFF",
    }


def explain_connect_error(settings: Settings, exc: Exception) -> Neo4jConnectError:
    if isinstance(exc, AuthError):
        return Neo4jConnectError(
            f"Neo4j at {settings.neo4j_uri} rejected user {settings.neo4j_user!r}: {exc.message}. "
            "Check NEO4J_USER / NEO4J_PASSWORD."
        )
    return Neo4jConnectError(
        f"Cannot reach Neo4j at {settings.neo4j_uri} ({type(exc).__name__}: {exc}). "
        "Start the local stack with `socialgraph dev up`, or set NEO4J_URI."
    )


async def open_async_driver(settings: Settings, verify: bool = True) -> AsyncDriver:
    driver = AsyncGraphDatabase.driver(settings.neo4j_uri, **_driver_kwargs(settings))
    if verify:
        try:
            await driver.verify_connectivity()
            await driver.verify_authentication()
        except (AuthError, ServiceUnavailable, OSError, ClientError) as exc:
            await driver.close()
            raise explain_connect_error(settings, exc) from exc
    return driver


def open_sync_driver(settings: Settings, verify: bool = True) -> Driver:
    driver = GraphDatabase.driver(settings.neo4j_uri, **_driver_kwargs(settings))
    if verify:
        try:
            driver.verify_connectivity()
            driver.verify_authentication()
        except (AuthError, ServiceUnavailable, OSError, ClientError) as exc:
            driver.close()
            raise explain_connect_error(settings, exc) from exc
    return driver


# Driver errors that mean "no answer from Neo4j now" (down, restarting, no pooled connection
# in time): a 503 and a retry, for every path that talks to the server.
UNREACHABLE: tuple[type[Exception], ...] = (
    ServiceUnavailable,
    SessionExpired,
    ConnectionPoolError,
    OSError,
)


def map_neo4j_error(exc: Exception) -> Exception:
    """Translate driver errors into data-layer errors (the API maps those to HTTP)."""
    if isinstance(exc, ServiceUnavailable | SessionExpired | DatabaseUnavailable):
        return Unavailable("the graph database is unavailable; retry shortly")
    if isinstance(exc, ConstraintError):
        return Conflict("the change conflicts with existing data", {"neo4j": exc.message})
    if isinstance(exc, TransientError):
        return Unavailable("the graph database is busy; retry shortly", {"neo4j": exc.message})
    if isinstance(exc, ClientError) and (exc.code or "").startswith(
        (
            "Neo.ClientError.Transaction.TransactionTimedOut",
            "Neo.ClientError.Transaction.Terminated",
            "Neo.ClientError.Transaction.LockClientStopped",
        )
    ):
        # Our own bound was hit (NEO4J_QUERY_TIMEOUT), or Neo4j stopped the transaction
        # (shutdown, lock wait past its timeout): not the client's fault; it may retry.
        return Unavailable("the graph database took too long to answer; retry shortly")
    if isinstance(exc, ClientError):
        return QueryRejected(exc.message or str(exc), {"neo4j_code": exc.code})
    return exc


def native(value: Any) -> Any:
    """Neo4j temporal values to Python ones, recursively (rows leave the data layer plain)."""
    if isinstance(value, neo4j.time.DateTime | neo4j.time.Date | neo4j.time.Time):
        return value.to_native()
    if isinstance(value, dict):
        return {k: native(v) for k, v in value.items()}
    if isinstance(value, list):
        return [native(v) for v in value]
    return value


class Tx:
    """A transaction handle that only runs catalog queries."""

    def __init__(self, tx: AsyncManagedTransaction, timeout: float) -> None:
        self._tx = tx
        self._timeout = timeout

    async def run(self, query: Query | str, **params: Any) -> list[Row]:
        qq = q(query) if isinstance(query, str) else query
        QUERIES.labels(qq.qualified_name).inc()
        result = await self._tx.run(qq.text, qq.bind(params))
        return [native(r) for r in await result.data()]

    async def one(self, query: Query | str, **params: Any) -> Row | None:
        rows = await self.run(query, **params)
        return rows[0] if rows else None

    async def page(
        self, query: Query | str, *, instants: tuple[str, ...] = (), **params: Any
    ) -> list[Row]:
        """The rows of a page query that returns one record, `items`, holding the page's
        rows in order. Fields named in `instants` (dotted for nested maps: "post.created_at")
        come as `[epochMillis, nanosecond]` and are turned into UTC datetimes.

        Why the shape: the Python driver costs about 40-150 us per record and about 100 us
        per `DateTime` it hydrates, so a 101-row page as rows with `DateTime` values cost
        ~16 ms more client CPU than as one record of integers (docs/benchmarks.md)."""
        row = await self.one(query, **params)
        items: list[Row] = row["items"] if row else []
        for path in instants:
            *parents, leaf = path.split(".")
            for item in items:
                holder = item
                for key in parents:
                    holder = holder[key]
                ms, ns = holder[leaf]
                holder[leaf] = None if ms is None else serialize.utc_datetime(ms, ns)
        return items


class Graph:
    def __init__(
        self, driver: AsyncDriver, database: str, timeout: float = 10.0, wait_bound: float = 5.0
    ) -> None:
        self.driver = driver
        self.database = database
        self.timeout = timeout
        self.wait_bound = wait_bound  # seconds on top of `timeout` before a call gives up

    async def read_tx(self, fn: Callable[[Tx], Awaitable[T]], timeout: float | None = None) -> T:
        return await self._tx(neo4j.READ_ACCESS, fn, timeout)

    async def write_tx(self, fn: Callable[[Tx], Awaitable[T]], timeout: float | None = None) -> T:
        return await self._tx(neo4j.WRITE_ACCESS, fn, timeout)

    async def _tx(self, mode: str, fn: Callable[[Tx], Awaitable[T]], timeout: float | None) -> T:
        t = timeout or self.timeout

        @neo4j.unit_of_work(timeout=t)
        async def work(tx: AsyncManagedTransaction) -> T:
            return await fn(Tx(tx, t))

        try:
            # The server ends the transaction after `t`; this outer bound also covers what
            # the server cannot see: waiting for a pooled connection, connecting, and the
            # driver's retries while Neo4j restarts (seen taking 20-40 s without it).
            async with asyncio.timeout(t + self.wait_bound):
                async with self.driver.session(
                    database=self.database, default_access_mode=mode
                ) as s:
                    if mode == neo4j.READ_ACCESS:
                        return await s.execute_read(work)
                    return await s.execute_write(work)
        except neo4j.exceptions.Neo4jError as exc:
            raise map_neo4j_error(exc) from exc
        except UNREACHABLE as exc:
            raise Unavailable("the graph database is unavailable; retry shortly") from exc
        except TimeoutError as exc:
            raise Unavailable("the graph database took too long to answer; retry shortly") from exc

    async def read(self, query: str, **params: Any) -> list[Row]:
        async def fn(tx: Tx) -> list[Row]:
            return await tx.run(query, **params)

        return await self.read_tx(fn)

    async def read_one(self, query: str, **params: Any) -> Row | None:
        rows = await self.read(query, **params)
        return rows[0] if rows else None

    async def read_page(
        self, query: str, *, instants: tuple[str, ...] = (), **params: Any
    ) -> list[Row]:
        """`Tx.page` in its own read transaction."""

        async def fn(tx: Tx) -> list[Row]:
            return await tx.page(query, instants=instants, **params)

        return await self.read_tx(fn)

    async def write(self, query: str, **params: Any) -> list[Row]:
        async def fn(tx: Tx) -> list[Row]:
            return await tx.run(query, **params)

        return await self.write_tx(fn)

    async def write_one(self, query: str, **params: Any) -> Row | None:
        rows = await self.write(query, **params)
        return rows[0] if rows else None

    async def ping(self) -> None:
        await self.read("system.ping")
