"""What every seed shares: schema, reset, the seed report, timestamps, handles.

Seeds use the synchronous driver (a CLI run is one sequential batch job) and write only
through `seeds.bulk`. Each seed function returns a `SeedReport`; the CLI prints it.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ParamSpec

from neo4j import Driver
from neo4j.exceptions import DriverError, Neo4jError
from rich.table import Table

from graph.db import SyncGraph
from graph.queries import catalog
from seeds import bulk

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
COUNT_KEYS = ("users", "friendships", "pending_requests", "posts", "likes", "comments")


def ensure_schema(driver: Driver, database: str = "neo4j") -> None:
    """Constraints and indexes from queries/schema (idempotent, as `socialgraph db migrate`).
    Seeds need them: every MATCH/MERGE by id is an index seek, not a label scan."""
    graph = SyncGraph(driver, database)
    for query in sorted(catalog().area("schema"), key=lambda x: x.name):
        graph.auto_commit(query)
    graph.auto_commit("system.await_indexes", seconds=300)


def reset_graph(driver: Driver, database: str = "neo4j", batch: int = 20_000) -> int:
    """Delete everything: relationships first, then nodes, `batch` per transaction, in a
    client-side loop. (`bulk.reset` detaches 10,000 nodes per transaction, which runs out
    of transaction memory around the hubs of a million-edge graph on a 512 MB-1 GB heap;
    one CALL IN TRANSACTIONS over it can outlast the server's 60 s transaction timeout.)
    Returns the number of nodes and relationships deleted."""
    graph = SyncGraph(driver, database)
    deleted = 0
    for name in ("seed.delete_relationships_batch", "seed.delete_nodes_batch"):
        while n := count(graph.write_one(name, limit=batch)):
            deleted += n
    return deleted


def count(row: dict[str, Any] | None) -> int:
    """The `n` a write query reports (0 when it returned no row)."""
    return int(row["n"]) if row else 0


def refresh_plans(driver: Driver, database: str = "neo4j") -> None:
    """Resample indexes and drop cached plans between seed steps that change the graph's
    shape: with the sample an index had while empty, the planner may scan a whole index
    per row instead of seeking (`queries/seed/prepare_for_replanning.cypher`)."""
    SyncGraph(driver, database).auto_commit("seed.prepare_for_replanning")


def begin_seed(report: SeedReport, driver: Driver, database: str, reset: bool) -> None:
    """What every seed does first: the schema, `--reset`, and the counts before."""
    with report.step("schema"):
        ensure_schema(driver, database)
    if reset:
        with report.step("reset"):
            reset_graph(driver, database)
    report.before = graph_counts(driver, database)


def write_content(
    report: SeedReport, driver: Driver, content: dict[str, list[dict[str, Any]]], **kw: Any
) -> None:
    """Posts, then likes, then comments (`kw` as for the `bulk` writers), replanning
    before each: every step's queries look up what the step before wrote."""
    writers = {"posts": bulk.posts, "likes": bulk.likes, "comments": bulk.comments}
    for name, write in writers.items():
        with report.step("replan"):
            refresh_plans(driver, kw.get("database", "neo4j"))
        with report.step(name):
            report.written[name] = write(driver, content[name], **kw)


def end_seed(report: SeedReport, driver: Driver, database: str) -> None:
    with report.step("replan"):  # the API plans with the new statistics from here on
        refresh_plans(driver, database)
    report.totals = graph_counts(driver, database)


def graph_counts(driver: Driver, database: str = "neo4j") -> dict[str, int]:
    row = SyncGraph(driver, database).read_one("seed.graph_counts")
    assert row is not None  # an aggregation always returns one row
    return {k: int(row[k]) for k in COUNT_KEYS}


def is_empty(driver: Driver, database: str = "neo4j") -> bool:
    row = SyncGraph(driver, database).read_one("seed.any_node")
    return not (row and row["any"])


@dataclass
class SeedReport:
    """What a seed sent, what it added, what the graph holds afterwards, and how long each
    step took. `written` keeps the row counts the queries returned (checks and tests);
    the table shows `new` = totals after minus `before`, which is exact whatever a
    query counts (the like and comment queries count only rows that add affinity)."""

    title: str
    sent: dict[str, int] = field(default_factory=dict)
    written: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    before: dict[str, int] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    retries: dict[str, int] = field(default_factory=dict)  # transient errors retried, by kind

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start

    @property
    def new(self) -> dict[str, int]:
        return {k: v - self.before.get(k, 0) for k, v in self.totals.items()}

    def table(self) -> Table:
        table = Table(title=self.title, title_justify="left")
        for column in ("what", "rows sent", "new", "in graph", "seconds"):
            table.add_column(column, justify="left" if column == "what" else "right")
        new = self.new

        def cell(value: float | None, fmt: str = "{:,}") -> str:
            return "" if value is None else fmt.format(value)

        names = list(dict.fromkeys([*self.seconds, *self.sent, *self.totals]))  # run order
        for name in names:
            if name not in self.seconds and name not in self.sent and not self.totals[name]:
                continue  # nothing of that kind here, and this seed writes none
            table.add_row(
                name,
                cell(self.sent.get(name)),
                cell(new.get(name)) if name in self.before else "",
                cell(self.totals.get(name)),
                cell(self.seconds.get(name), "{:.1f}"),
            )
        return table


def counted(n: int, plural: str) -> str:
    """`counted(1, "users")` -> "1 user"; `counted(2_000, "users")` -> "2,000 users"."""
    return f"{n:,} {plural[:-1] if n == 1 and plural.endswith('s') else plural}"


def write_path_note(report: SeedReport, create: bool, kinds: tuple[str, ...]) -> str:
    """What the seed's write path did, in words: CREATE into an empty graph, or MERGE into
    one that held something (a first load beside other data, or a re-run that added
    nothing). Call after `end_seed`. `kinds` are the counts the seed writes."""
    if create:
        return "CREATE fast path: the graph was empty."
    held = ", ".join(counted(report.before.get(k, 0), k) for k in kinds)
    added = ", ".join(counted(report.new.get(k, 0), k) for k in kinds)
    if not any(report.before.get(k, 0) for k in kinds):
        return f"MERGE path: the graph held other nodes but none of these; added {added}."
    if not any(report.new.get(k, 0) for k in kinds):
        return f"MERGE path: the graph already held {held}; nothing was new (a re-run)."
    return f"MERGE path: the graph already held {held}; this seed added {added}."


# ------------------------------------------------------------ transient retries
#
# Writers running side by side (`--writers 2`) take the same user nodes' locks in
# different orders now and then; Neo4j breaks the cycle with DeadlockDetected, a
# transient error the driver's managed transaction retries (the seed queries are
# idempotent). The driver announces each retry as a multi-line warning on the
# `neo4j.session` logger; a seed counts them instead and says so in its report.

RETRY_LOGGER = "neo4j.session"
P = ParamSpec("P")


class RetryCounter(logging.Filter):
    """A filter on the driver's session logger that counts and drops its "will be
    retried" warnings, by kind (`DeadlockDetected`, `ServiceUnavailable`, ...); every
    other record passes. Thread-safe: writer threads log through it."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if "will be retried" not in str(record.msg):
            return True
        args = record.args if isinstance(record.args, tuple) else ()
        error = next((a for a in args if isinstance(a, BaseException)), None)
        with self._lock:
            self.counts[retry_kind(error)] += 1
        return False

    @contextmanager
    def installed(self) -> Iterator[RetryCounter]:
        logger = logging.getLogger(RETRY_LOGGER)
        logger.addFilter(self)
        try:
            yield self
        finally:
            logger.removeFilter(self)


def retry_kind(error: BaseException | None) -> str:
    """`Neo.TransientError.Transaction.DeadlockDetected` -> `DeadlockDetected`; a driver
    error by its class name."""
    if isinstance(error, Neo4jError) and error.code:
        return error.code.rsplit(".", 1)[-1]
    if isinstance(error, DriverError):
        return type(error).__name__
    return "transient error"


def retry_note(counts: dict[str, int]) -> str | None:
    """One line for the report, or None when nothing was retried."""
    if not counts:
        return None

    def part(kind: str, n: int) -> str:
        if kind == "DeadlockDetected":
            return f"{n:,} transient deadlock{'s' if n != 1 else ''}"
        return f"{n:,} {kind}"

    parts = [part(k, n) for k, n in sorted(counts.items(), key=lambda kv: -kv[1])]
    return (
        f"Retried {', '.join(parts)} (concurrent writers; the driver retried each "
        "transaction and the idempotent queries lost nothing)."
    )


def counts_retries(seed: Callable[P, SeedReport]) -> Callable[P, SeedReport]:
    """Wrap a seed function: the driver's retry warnings during the run are counted into
    `report.retries` and one summary note, not printed. (One seed at a time per process:
    the filter sees every session's retries.)"""

    @functools.wraps(seed)
    def run(*args: P.args, **kwargs: P.kwargs) -> SeedReport:
        with RetryCounter().installed() as counter:
            report = seed(*args, **kwargs)
        report.retries = dict(counter.counts)
        if note := retry_note(report.retries):
            report.notes.append(note)
        return report

    return run


def undecodable(path: Path, encoding: str, hint: str) -> str:
    """Where `path` stops being `encoding` text, in one line for a user: the line, the
    byte offset and the bytes, then `hint` (what to do). Read again line by line in
    binary, only after a decode failed (a newline byte never sits inside a multi-byte
    UTF-8 or single-byte-encoded character)."""
    offset = 0
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                raw.decode(encoding)
            except UnicodeDecodeError as exc:
                bad = raw[exc.start : exc.end].hex(" ")
                return (
                    f"{path}: line {number} (byte offset {offset + exc.start:,}) is not "
                    f"{encoding} text: bytes {bad}; {hint}"
                )
            offset += len(raw)
    return f"{path}: is not {encoding} text; {hint}"


def epoch_ms(dt: datetime) -> int:
    return (dt - EPOCH) // timedelta(milliseconds=1)


def from_epoch_ms(ms: int) -> datetime:
    """Exact (no float rounding) UTC datetime from epoch milliseconds."""
    return EPOCH + timedelta(milliseconds=ms)


def start_of_today() -> datetime:
    """The anchor of generated timestamps: today 00:00 UTC, so a re-run on the same day
    writes the same times, and feeds still look recent."""
    now = datetime.now(UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


_SLUG_RE = re.compile(r"[^a-z0-9]+")
HANDLE_MAX = 30  # api/schemas.py: ^[A-Za-z0-9_]{3,30}$


def slug(text: str) -> str:
    """ASCII lower-case letters and digits only ('Zoë O'Neil' -> 'zoeoneil')."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _SLUG_RE.sub("", ascii_text.lower())


def handle_with_suffix(parts: list[str], suffix: str) -> str:
    """A valid handle `<parts joined by _>_<suffix>`, the name part shortened to fit 30
    characters; the suffix (a unique id) keeps it unique."""
    room = HANDLE_MAX - len(suffix) - 1
    name = "_".join(p for p in (slug(x) for x in parts) if p)[: max(room, 0)].strip("_")
    handle = f"{name}_{suffix}" if name else f"u_{suffix}"
    if len(handle) > HANDLE_MAX:
        raise ValueError(f"id {suffix!r} is too long for a handle")
    return handle
