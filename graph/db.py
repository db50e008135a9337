"""Driver lifecycle and the one way the code runs a query: the executor.

The driver is opened once (API lifespan, CLI command) and closed after it. The
executor has two faces over the same catalog `Query` objects (graph/queries.py):

* `Graph` / `Tx` (async): the API, the analyst tools and the async CLI commands.
  Driver errors become domain errors (`core.errors`), which the API maps to HTTP.
* `SyncGraph` / `SyncTx` (sync): batch jobs and notebooks: seeds, exports, the
  notebook helper, the evaluation, the benchmark. Driver errors pass through
  unchanged, so an operator sees Neo4j's own message.

Both offer `read`, `write`, `page`, `*_tx` for several statements in one transaction,
and `auto_commit` for what cannot run in a managed transaction (schema commands,
`CALL ... IN TRANSACTIONS`); the sync face adds `write_batches` for bulk loads.
`Graph.capped_read` is the analysts' rolled-back, row-capped read. Reads run in
READ-routed managed transactions, writes in WRITE ones, each with a server-side timeout.
Transaction functions may be retried by the driver, so the write queries are idempotent
(MERGE, guards), and results are consumed inside the transaction.

Routing and causal consistency (docs/routing.md). With a `neo4j://` or `neo4j+s://` URI
the driver sends READ transactions to secondaries and WRITE ones to the leader, so a
read may run on a server that has not applied a write committed a moment ago. Two chains
of bookmarks close that gap:

* async face: a request's `BookmarkCarrier` (set per user by `Graph.carry_bookmarks_of`;
  before that, or without a user, the source's `for_anyone`; the API's live in Redis,
  redislayer/bookmarks.py) gives each READ session the bookmarks of that user's last
  write and of the newest write any process committed, and is handed the bookmarks of
  every write this request commits (before the write call returns, so before its cache
  bumps). Writes start without bookmarks: the leader has every committed transaction.
* sync face: every session of one driver shares the driver's own in-memory bookmark
  manager, so a batch job reads what it wrote before.

A WRITE transaction that runs no `mode: write` catalog query is a read in the wrong place
(it loads the leader); it is counted in `sg_neo4j_misrouted_reads_total` and logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import neo4j
import neo4j.time
from neo4j import (
    AsyncDriver,
    AsyncGraphDatabase,
    AsyncManagedTransaction,
    AsyncTransaction,
    Bookmarks,
    Driver,
    GraphDatabase,
    ManagedTransaction,
    ResultSummary,
)
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
from opentelemetry.trace import SpanKind, Tracer
from prometheus_client import Counter

from core.config import Settings
from core.errors import Conflict, QueryRejected, Unavailable
from graph import serialize
from graph.queries import Query, q

T = TypeVar("T")
QUERIES = Counter("sg_neo4j_queries_total", "Catalog queries sent to Neo4j", ["query"])
BOOKMARKED_READS = Counter(
    "sg_neo4j_bookmarked_reads_total",
    "READ transactions started with carried bookmarks (the user's last write, the newest one)",
)
MISROUTED_READS = Counter(
    "sg_neo4j_misrouted_reads_total",
    "WRITE transactions that ran no `mode: write` query (reads sent to the leader)",
    ["query"],
)
Row = dict[str, Any]
log = logging.getLogger("socialgraph.graph")

# Neo4j refuses bookmarks it cannot parse (a tampered store, a format from another server
# version); the read then runs once more without them rather than failing the request.
_BAD_BOOKMARK = "Neo.ClientError.Transaction.InvalidBookmark"


class BookmarkCarrier(Protocol):
    """One request's causal position (plain bookmark strings, so the store needs no
    driver types). `before_read` is awaited before each READ transaction, at its start
    (after any cache lookup that led to it), and may return nothing; `after_write` gets
    the bookmarks of each committed WRITE transaction and is awaited before the write
    call returns. Both must be best effort: a failure there must not fail the query."""

    async def before_read(self) -> Collection[str]: ...

    async def after_write(self, bookmarks: Collection[str]) -> None: ...


class BookmarkSource(Protocol):
    """Where carriers come from (the API's: redislayer/bookmarks.py `BookmarkStore`)."""

    def for_user(self, user_id: str) -> BookmarkCarrier: ...

    def for_anyone(self) -> BookmarkCarrier:
        """For transactions before any user is known (registration, login)."""
        ...


# The current request's carrier. Set once authentication knows the user; a context
# variable so it follows the request into the tasks it starts and goes with it (uvicorn
# runs each request, and each WebSocket session, in a task of its own).
_CARRIER: ContextVar[BookmarkCarrier | None] = ContextVar("sg_neo4j_bookmarks", default=None)


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


def _query(query: Query | str) -> Query:
    """A catalog query by name (`area.name`) or as given; counted per name."""
    qq = q(query) if isinstance(query, str) else query
    QUERIES.labels(qq.qualified_name).inc()
    return qq


def _page_items(row: Row | None, instants: tuple[str, ...]) -> list[Row]:
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


_NO_SPAN = nullcontext()


def _span(tracer: Tracer | None, qq: Query, database: str) -> AbstractContextManager[Any]:
    """A client span around one catalog query when tracing is on (api/tracing.py): named
    after the query, never carrying its text or parameters. Off: a shared no-op."""
    if tracer is None:
        return _NO_SPAN
    return tracer.start_as_current_span(
        qq.qualified_name,
        kind=SpanKind.CLIENT,
        attributes={
            "db.system.name": "neo4j",
            "db.namespace": database,
            "db.query.summary": qq.qualified_name,
        },
    )


def _check_wrote(ran: list[Query]) -> None:
    """After a WRITE transaction commits: it should have run a `mode: write` query. One
    that only read belonged in a READ transaction, where a cluster's secondaries serve it."""
    if ran and not any(qq.mode == "write" for qq in ran):
        MISROUTED_READS.labels(ran[0].qualified_name).inc()
        log.warning(
            "a write transaction ran only reads (%s): use a read transaction",
            ", ".join(qq.qualified_name for qq in ran),
        )


class Tx:
    """A transaction handle that only runs catalog queries."""

    def __init__(
        self,
        tx: AsyncManagedTransaction,
        timeout: float,
        tracer: Tracer | None = None,
        database: str = "",
    ) -> None:
        self._tx = tx
        self._timeout = timeout
        self._tracer = tracer
        self._database = database
        self.ran: list[Query] = []  # what this attempt ran (the misrouted-read check)

    async def run(self, query: Query | str, **params: Any) -> list[Row]:
        qq = _query(query)
        self.ran.append(qq)
        with _span(self._tracer, qq, self._database):
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
        return _page_items(await self.one(query, **params), instants)


@dataclass(frozen=True)
class CappedRows:
    """What `Graph.capped_read` returns: JSON-safe rows, at most the cap."""

    columns: list[str]
    rows: list[Row]
    truncated: bool
    notes: list[str] = field(default_factory=list)


class Probe:
    """What a `capped_read` check may do inside the read transaction, before the query."""

    def __init__(self, tx: AsyncTransaction) -> None:
        self._tx = tx

    async def summary(self, query: Query, params: Mapping[str, Any]) -> ResultSummary:
        """Run `query` (an EXPLAIN, say) and return its summary, discarding rows."""
        qq = _query(query)
        return await (await self._tx.run(qq.text, qq.bind(params))).consume()

    async def one(self, query: Query | str, **params: Any) -> Row | None:
        qq = _query(query)
        record = await (await self._tx.run(qq.text, qq.bind(params))).single()
        return dict(record) if record else None


class Graph:
    def __init__(
        self,
        driver: AsyncDriver,
        database: str,
        timeout: float = 10.0,
        wait_bound: float = 5.0,
        tracer: Tracer | None = None,
        bookmarks: BookmarkSource | None = None,
    ) -> None:
        self.driver = driver
        self.database = database
        self.timeout = timeout
        self.wait_bound = wait_bound  # seconds on top of `timeout` before a call gives up
        self.tracer = tracer  # a span per query when set (api/tracing.py)
        self.bookmarks = bookmarks  # per-user bookmarks across processes (the API's)

    def carry_bookmarks_of(self, user_id: str) -> None:
        """From here on in this request (this task and the tasks it starts), reads start
        from `user_id`'s last write and writes record theirs. Without a source: nothing."""
        if self.bookmarks is not None:
            _CARRIER.set(self.bookmarks.for_user(user_id))

    async def read_tx(self, fn: Callable[[Tx], Awaitable[T]], timeout: float | None = None) -> T:
        return await self._tx(neo4j.READ_ACCESS, fn, timeout)

    async def write_tx(self, fn: Callable[[Tx], Awaitable[T]], timeout: float | None = None) -> T:
        return await self._tx(neo4j.WRITE_ACCESS, fn, timeout)

    def _carrier(self) -> BookmarkCarrier | None:
        carrier = _CARRIER.get()
        if carrier is None and self.bookmarks is not None:
            carrier = self.bookmarks.for_anyone()
        return carrier

    async def _tx(
        self,
        mode: str,
        fn: Callable[[Tx], Awaitable[T]],
        timeout: float | None,
        causal: bool = True,
    ) -> T:
        t = timeout or self.timeout
        carrier = self._carrier() if causal else None
        last: list[Tx] = []

        @neo4j.unit_of_work(timeout=t)
        async def work(tx: AsyncManagedTransaction) -> T:
            handle = Tx(tx, t, self.tracer, self.database)
            last[:] = [handle]
            return await fn(handle)

        try:
            # The server ends the transaction after `t`; this outer bound also covers what
            # the server cannot see: waiting for a pooled connection, connecting, the
            # driver's retries while Neo4j restarts (seen taking 20-40 s without it), and a
            # secondary catching up with a carried bookmark.
            async with asyncio.timeout(t + self.wait_bound):
                if mode == neo4j.READ_ACCESS:
                    held = await carrier.before_read() if carrier is not None else ()
                    try:
                        return await self._session_tx(mode, work, held)
                    except ClientError as exc:
                        if not held or exc.code != _BAD_BOOKMARK:
                            raise
                        log.warning("Neo4j refused carried bookmarks (%s); read without", exc)
                        return await self._session_tx(mode, work, ())
                async with self.driver.session(
                    database=self.database, default_access_mode=mode
                ) as s:
                    result = await s.execute_write(work)
                    _check_wrote(last[0].ran if last else [])
                    if carrier is not None:
                        await carrier.after_write((await s.last_bookmarks()).raw_values)
                    return result
        except neo4j.exceptions.Neo4jError as exc:
            raise map_neo4j_error(exc) from exc
        except UNREACHABLE as exc:
            raise Unavailable("the graph database is unavailable; retry shortly") from exc
        except TimeoutError as exc:
            raise Unavailable("the graph database took too long to answer; retry shortly") from exc

    async def _session_tx(
        self,
        mode: str,
        work: Callable[[AsyncManagedTransaction], Awaitable[T]],
        held: Collection[str],
    ) -> T:
        """`work` in a READ session that starts from the `held` bookmarks, if any."""
        bookmarks = Bookmarks.from_raw_values(held) if held else None
        if bookmarks is not None:
            BOOKMARKED_READS.inc()
        async with self.driver.session(
            database=self.database, default_access_mode=mode, bookmarks=bookmarks
        ) as s:
            return await s.execute_read(work)

    async def read(self, query: Query | str, **params: Any) -> list[Row]:
        async def fn(tx: Tx) -> list[Row]:
            return await tx.run(query, **params)

        return await self.read_tx(fn)

    async def read_one(self, query: Query | str, **params: Any) -> Row | None:
        rows = await self.read(query, **params)
        return rows[0] if rows else None

    async def read_page(
        self, query: Query | str, *, instants: tuple[str, ...] = (), **params: Any
    ) -> list[Row]:
        """`Tx.page` in its own read transaction."""

        async def fn(tx: Tx) -> list[Row]:
            return await tx.page(query, instants=instants, **params)

        return await self.read_tx(fn)

    async def write(self, query: Query | str, **params: Any) -> list[Row]:
        async def fn(tx: Tx) -> list[Row]:
            return await tx.run(query, **params)

        return await self.write_tx(fn)

    async def write_one(self, query: Query | str, **params: Any) -> Row | None:
        rows = await self.write(query, **params)
        return rows[0] if rows else None

    async def ping(self) -> None:
        """Is a server answering. Carries no bookmark: a health check must not wait for a
        secondary to catch up (nor ask Redis)."""

        async def fn(tx: Tx) -> list[Row]:
            return await tx.run("system.ping")

        await self._tx(neo4j.READ_ACCESS, fn, None, causal=False)

    async def auto_commit(self, query: Query | str, **params: Any) -> None:
        """One statement in its own auto-commit transaction (schema commands, `CALL ... IN
        TRANSACTIONS`): no retry, no managed transaction around it. Errors pass through."""
        qq = _query(query)
        async with self.driver.session(database=self.database) as s:
            with _span(self.tracer, qq, self.database):
                await (await s.run(qq.text, qq.bind(params))).consume()

    async def capped_read(
        self,
        query: Query,
        params: Mapping[str, Any],
        *,
        timeout: float,
        row_cap: int,
        max_bytes: int | None = None,
        check: Callable[[Probe], Awaitable[list[str]]] | None = None,
    ) -> CappedRows:
        """The analysts' read: an explicit READ transaction with a server timeout (no
        driver retries of an expensive query), `check` run first inside it (a plan check),
        at most `row_cap + 1` records pulled, JSON-safe rows, always rolled back.
        With `max_bytes`, records are pulled 100 at a time and the rows' JSON size is
        counted as they come: past the cap, `QueryRejected` (reason `too_large`), so memory
        holds about the cap, never the whole result.
        Notifications are on here (the service turns them off driver-wide). Driver errors
        pass through: the analyst path words them itself (graph/adhoc.py)."""
        bound = query.bind(params)
        QUERIES.labels(query.qualified_name).inc()
        carrier = self._carrier()
        held = await carrier.before_read() if carrier is not None else ()
        if held:
            BOOKMARKED_READS.inc()
        with _span(self.tracer, query, self.database):
            async with self.driver.session(
                database=self.database,
                default_access_mode=neo4j.READ_ACCESS,
                bookmarks=Bookmarks.from_raw_values(held) if held else None,
                fetch_size=max(1, min(row_cap + 1, 1000 if max_bytes is None else 100)),
                notifications_min_severity="INFORMATION",
            ) as session:
                tx = await session.begin_transaction(
                    timeout=timeout, metadata={"app": "socialgraph", "kind": "analyst"}
                )
                try:
                    notes = await check(Probe(tx)) if check else []
                    result = await tx.run(query.text, bound)
                    columns = list(result.keys())
                    rows: list[Row] = []
                    size = 0
                    async for record in result:
                        if len(rows) == row_cap:
                            return CappedRows(columns, rows, True, notes)
                        row = serialize.record(columns, record.values())
                        if max_bytes is not None:
                            size += serialize.json_size(row)
                            if size > max_bytes:
                                raise QueryRejected(
                                    f"the result is larger than {max_bytes:,} bytes (reached after "
                                    f"{len(rows):,} rows); add LIMIT, return fewer columns or "
                                    "aggregate in Cypher",
                                    {"reason": "too_large", "max_bytes": max_bytes},
                                )
                        rows.append(row)
                    return CappedRows(columns, rows, False, notes)
                finally:
                    # Never commit: a read transaction has nothing to keep, and rolling back
                    # is the last word should anything have slipped through.
                    try:
                        await tx.close()
                    except (neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError, OSError):
                        pass


# ------------------------------------------------------------------ the sync face


class SyncTx:
    """`Tx` for the sync driver."""

    def __init__(self, tx: ManagedTransaction) -> None:
        self._tx = tx
        self.ran: list[Query] = []  # as `Tx.ran`

    def _run(self, query: Query | str, params: Mapping[str, Any]) -> neo4j.Result:
        qq = _query(query)
        self.ran.append(qq)
        return self._tx.run(qq.text, qq.bind(params))

    def run(self, query: Query | str, **params: Any) -> list[Row]:
        return [native(r) for r in self._run(query, params).data()]

    def one(self, query: Query | str, **params: Any) -> Row | None:
        rows = self.run(query, **params)
        return rows[0] if rows else None

    def raw_one(self, query: Query | str, **params: Any) -> Row | None:
        """The first record as the driver gives it (no temporal conversion): for pages
        of plain values where a walk over a million of them would cost seconds."""
        record = self._run(query, params).single()
        return dict(record) if record else None

    def json_rows(self, query: Query | str, **params: Any) -> list[Row]:
        result = self._run(query, params)
        keys = list(result.keys())
        return [serialize.record(keys, r.values()) for r in result]

    def page(
        self, query: Query | str, *, instants: tuple[str, ...] = (), **params: Any
    ) -> list[Row]:
        return _page_items(self.one(query, **params), instants)


class SyncGraph:
    """The executor's sync face: batch jobs and notebooks (seeds, exports, evaluation,
    bench). One object per (driver, database); it holds no connection itself. Every
    session chains through the driver's own bookmark manager (`execute_query`'s, kept in
    memory per driver): on a cluster a job reads what it wrote, whichever server serves."""

    def __init__(
        self, driver: Driver, database: str = "neo4j", timeout: float | None = None
    ) -> None:
        self.driver = driver
        self.database = database
        self.timeout = timeout  # None: the server's own transaction timeout

    def read_tx(self, fn: Callable[[SyncTx], T], timeout: float | None = None) -> T:
        return self._tx(neo4j.READ_ACCESS, fn, timeout)

    def write_tx(self, fn: Callable[[SyncTx], T], timeout: float | None = None) -> T:
        return self._tx(neo4j.WRITE_ACCESS, fn, timeout)

    def _tx(self, mode: str, fn: Callable[[SyncTx], T], timeout: float | None) -> T:
        last: list[SyncTx] = []

        @neo4j.unit_of_work(timeout=timeout or self.timeout)
        def work(tx: ManagedTransaction) -> T:
            handle = SyncTx(tx)
            last[:] = [handle]
            return fn(handle)

        with self._session(mode) as s:
            if mode == neo4j.READ_ACCESS:
                return s.execute_read(work)
            result = s.execute_write(work)
            _check_wrote(last[0].ran if last else [])
            return result

    def _session(self, mode: str = neo4j.WRITE_ACCESS, **config: Any) -> neo4j.Session:
        return self.driver.session(
            database=self.database,
            default_access_mode=mode,
            bookmark_manager=self.driver.execute_query_bookmark_manager,
            **config,
        )

    def read(self, query: Query | str, **params: Any) -> list[Row]:
        return self.read_tx(lambda tx: tx.run(query, **params))

    def read_one(self, query: Query | str, **params: Any) -> Row | None:
        rows = self.read(query, **params)
        return rows[0] if rows else None

    def read_page(
        self, query: Query | str, *, instants: tuple[str, ...] = (), **params: Any
    ) -> list[Row]:
        return self.read_tx(lambda tx: tx.page(query, instants=instants, **params))

    def json_rows(
        self, query: Query | str, params: Mapping[str, Any], timeout: float | None = None
    ) -> list[Row]:
        """All rows as JSON-safe dicts (`graph.serialize.record`), one read transaction."""
        return self.read_tx(lambda tx: tx.json_rows(query, **params), timeout)

    def write(self, query: Query | str, **params: Any) -> list[Row]:
        return self.write_tx(lambda tx: tx.run(query, **params))

    def write_one(self, query: Query | str, **params: Any) -> Row | None:
        rows = self.write(query, **params)
        return rows[0] if rows else None

    def profile(self, query: Query | str, params: Mapping[str, Any]) -> tuple[int, ResultSummary]:
        """PROFILE a catalog read in a READ session: (rows returned, the summary whose
        `profile` is the executed plan with db hits). The benchmark's plan check."""
        qq = _query(query).profiled()
        with self._session(neo4j.READ_ACCESS) as s:
            result = s.run(qq.text, qq.bind(params))
            rows = sum(1 for _ in result)
            return rows, result.consume()

    def auto_commit(self, query: Query | str, **params: Any) -> None:
        """As `Graph.auto_commit`."""
        qq = _query(query)
        with self._session() as s:
            s.run(qq.text, qq.bind(params)).consume()

    def write_batches(
        self,
        query: Query | str,
        batches: Iterable[Mapping[str, Any]],
        on_batch: Callable[[Mapping[str, Any]], None] | None = None,
    ) -> int:
        """Each parameter set in its own managed write transaction, all in one session
        (one pooled connection); returns the sum of the `n` each reports. `on_batch` runs
        after each commit (a progress bar). Bulk loads: `UNWIND $rows` queries."""
        qq = q(query) if isinstance(query, str) else query
        total = 0

        def work(tx: ManagedTransaction, params: Mapping[str, Any]) -> int:
            QUERIES.labels(qq.qualified_name).inc()
            record = tx.run(qq.text, qq.bind(params)).single()
            return int(record["n"]) if record and record.get("n") is not None else 0

        with self._session() as s:
            for params in batches:
                total += s.execute_write(work, params)
                if on_batch is not None:
                    on_batch(params)
        return total
