"""Batched `UNWIND $rows` writers shared by every seed and by test fixtures.

Each writer sends rows in chunks through one catalog query (`queries/seed/`), each
chunk in its own managed write transaction (retried by the driver, so the queries
are idempotent MERGEs). Rows must be unique per batch key (the seeds dedupe them).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

from neo4j import Driver, ManagedTransaction
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from graph.queries import q

DEFAULT_BATCH = 5_000


def chunks(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    it = iter(rows)
    while batch := list(islice(it, size)):
        yield batch


def progress(disable: bool = False) -> Progress:
    return Progress(
        TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), disable=disable, transient=False,
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
    written = 0
    task = bar.add_task(label or query.name, total=total) if bar else None

    def work(tx: ManagedTransaction, batch: list[dict[str, Any]]) -> int:
        record = tx.run(query.text, query.bind({"rows": batch})).single()
        return int(record["n"]) if record else 0

    with driver.session(database=database) as session:
        for batch in chunks(rows, batch_size):
            written += session.execute_write(work, batch)
            if bar is not None and task is not None:
                bar.advance(task, len(batch))
    return written


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
    with driver.session(database=database) as session:
        session.run(q("system.delete_all").text).consume()
