"""Batched row writers shared by every seed and by test fixtures.

Each writer sends rows in chunks through one catalog query (`queries/seed/`), each
chunk in its own managed write transaction (`graph.db.SyncGraph.write_batches`;
retried by the driver, so the queries are idempotent MERGEs). Rows must be unique per
batch key (the seeds dedupe them).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from typing import Any

from neo4j import Driver
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from graph.db import SyncGraph
from graph.queries import q

DEFAULT_BATCH = 5_000


def chunks(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    it = iter(rows)
    while batch := list(islice(it, size)):
        yield batch


def progress(disable: bool = False) -> Progress:
    return Progress(
        TextColumn("{task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        disable=disable,
        transient=False,
    )


def write_rows(
    driver: Driver,
    query_name: str,
    rows: Sequence[dict[str, Any]] | Iterable[dict[str, Any]],
    *,
    database: str = "neo4j",
    batch_size: int = DEFAULT_BATCH,
    total: int | None = None,
    label: str | None = None,
    bar: Progress | None = None,
) -> int:
    """Write rows in batches; returns the number of rows the query reported."""
    query = q(query_name)
    if total is None and isinstance(rows, Sequence):
        total = len(rows)
    task = bar.add_task(label or query.name, total=total) if bar else None

    def advance(params: Mapping[str, Any]) -> None:
        if bar is not None and task is not None:
            bar.advance(task, len(params["rows"]))

    return SyncGraph(driver, database).write_batches(
        query, ({"rows": batch} for batch in chunks(rows, batch_size)), advance
    )


def users(driver: Driver, rows: Sequence[dict[str, Any]], **kw: Any) -> int:
    return write_rows(driver, "seed.upsert_users", rows, label="users", **kw)


def friendships(driver: Driver, rows: Sequence[dict[str, Any]], **kw: Any) -> int:
    return write_rows(driver, "seed.upsert_friendships", rows, label="friendships", **kw)


def posts(driver: Driver, rows: Sequence[dict[str, Any]], **kw: Any) -> int:
    return write_rows(driver, "seed.upsert_posts", rows, label="posts", **kw)


def likes(driver: Driver, rows: Sequence[dict[str, Any]], **kw: Any) -> int:
    return write_rows(driver, "seed.upsert_likes", rows, label="likes", **kw)


def comments(driver: Driver, rows: Sequence[dict[str, Any]], **kw: Any) -> int:
    return write_rows(driver, "seed.upsert_comments", rows, label="comments", **kw)


def reset(driver: Driver, database: str = "neo4j") -> None:
    """Delete everything (auto-commit: CALL IN TRANSACTIONS needs it)."""
    SyncGraph(driver, database).auto_commit("system.delete_all")


# ---------------------------------------------------------------- packed batches
#
# The pure-Python Bolt driver packs parameters at roughly 30 µs per small map, so a
# million `{a, b, since}` rows cost longer to serialise than Neo4j takes to write them.
# The large seeds (synthetic graphs, edge lists) therefore send each batch as ONE string:
# fields joined by ASCII unit separators, records by ASCII record separators, which the
# `*_packed` queries split back apart server-side. Values must not contain either
# separator (checked per batch); all fields arrive as strings.

FIELD_SEP = "\x1f"  # ASCII US; the queries split on '\u001F'
RECORD_SEP = "\x1e"  # ASCII RS; the queries split on '\u001E'

Packable = Sequence[str | int]


def pack(batch: Sequence[Packable]) -> str:
    """One batch as one string; refuses values that contain a separator."""
    text = RECORD_SEP.join(FIELD_SEP.join(map(str, row)) for row in batch)
    fields = sum(len(row) - 1 for row in batch)
    if text.count(FIELD_SEP) != fields or text.count(RECORD_SEP) != len(batch) - 1:
        raise ValueError("a packed value contains an ASCII unit or record separator")
    return text


def write_packed(
    driver: Driver,
    query_name: str,
    rows: Sequence[Packable],
    *,
    database: str = "neo4j",
    batch_size: int = DEFAULT_BATCH,
    label: str | None = None,
    bar: Progress | None = None,
    writers: int = 1,
) -> int:
    """Like `write_rows`, but each batch travels as one packed string in `$packed`.

    `writers` > 1 runs that many sessions in threads, each taking the next batch. Only
    for queries that are safe concurrently: CREATE/MERGE of distinct users, and of
    distinct friendship pairs (the unique `pair` constraint serialises any overlap).
    Deadlocks are transient errors, retried by `execute_write`."""
    query = q(query_name)
    task = bar.add_task(label or query.name, total=len(rows)) if bar else None
    starts = iter(range(0, len(rows), batch_size))
    lock = threading.Lock()
    graph = SyncGraph(driver, database)

    def batches() -> Iterator[dict[str, Any]]:
        """The next unclaimed batch, shared by every writer thread."""
        while True:
            with lock:
                start = next(starts, None)
            if start is None:
                return
            batch = rows[start : start + batch_size]
            yield {"packed": pack(batch)}

    def advance(params: Mapping[str, Any]) -> None:
        if bar is not None and task is not None:
            bar.advance(task, params["packed"].count(RECORD_SEP) + 1)

    def drain() -> int:  # one session per writer
        return graph.write_batches(query, batches(), advance)

    if writers <= 1:
        return drain()
    with ThreadPoolExecutor(max_workers=writers, thread_name_prefix="seed-writer") as pool:
        futures = [pool.submit(drain) for _ in range(writers)]
        return sum(f.result() for f in futures)


def users_packed(
    driver: Driver, rows: Sequence[Packable], *, create: bool = False, **kw: Any
) -> int:
    """Rows (id, handle, display_name, bio, created_at epoch ms, source, source_id).
    `create=True` only on an empty graph (after a reset): CREATE instead of MERGE."""
    name = "seed.create_users_packed" if create else "seed.upsert_users_packed"
    return write_packed(driver, name, rows, label="users", **kw)


def friendships_packed(
    driver: Driver, rows: Sequence[Packable], *, create: bool = False, **kw: Any
) -> int:
    """Rows (a, b, since epoch ms). `create=True` needs unique pairs that are not in the
    graph yet (an empty graph after a reset); the unique `pair` constraint enforces it."""
    name = "seed.create_friendships_packed" if create else "seed.upsert_friendships_packed"
    return write_packed(driver, name, rows, label="friendships", **kw)


def requests(driver: Driver, rows: Sequence[dict[str, Any]], **kw: Any) -> int:
    """Friend requests from rows {from_id, to_id, status, created_at}. Idempotent."""
    return write_rows(driver, "seed.upsert_requests", rows, label="requests", **kw)


def credentials(driver: Driver, rows: Sequence[dict[str, Any]], **kw: Any) -> int:
    """Set password hashes (on each user's :Credential) and roles from rows
    {id, password_hash, pepper_id, roles}; hashes come from `core.passwords`."""
    return write_rows(driver, "seed.set_credentials", rows, label="credentials", **kw)
