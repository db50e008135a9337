"""The Neo4j store on disk, grown one kind of item at a time: the synthetic seed's users,
then its friendships, posts, likes and comments, with a clean stop of Neo4j after each step
and the database directory measured while it is stopped.

Why a stop: Neo4j 5 Community has no `db.checkpoint()` (Enterprise only), and until a
checkpoint the store files lag the transaction log; a clean shutdown checkpoints
("Checkpoint triggered by \"Database shutdown\"" in debug.log). Each step's growth divided
by the items it added is that item's cost; two graph sizes give the per-item figure as a
slope (bench/capacity.py `fit`), so fixed costs and the empty store cancel out.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bench.results import log
from core.config import Settings

STAGES = ("schema", "users", "friendships", "posts", "likes", "comments")
BATCH = 10_000
PAGE = 8_192  # Neo4j's page size
WRITERS = 2


def database_dir(settings: Settings) -> Path:
    return settings.state_dir / "neo4j" / "data" / "databases" / settings.neo4j_database


def tx_log_dir(settings: Settings) -> Path:
    return settings.state_dir / "neo4j" / "data" / "transactions" / settings.neo4j_database


def used_extent(path: Path) -> int:
    """Bytes up to the end of the last page holding anything but zeros. Neo4j grows the
    property store ahead of need (fallocate, in steps of 32 MiB at 64 MiB: 64 -> 96 MiB
    for 33.6 MB of likes' properties at 50,000 users), and that tail is zeros until
    records land there; the page cache only ever holds the pages records are in."""
    size = path.stat().st_size
    with path.open("rb") as f:
        end = -(-size // PAGE) * PAGE
        while end > 0:
            f.seek(end - PAGE)
            if f.read(PAGE).strip(b"\0"):
                return min(size, end)
            end -= PAGE
    return 0


def disk_sizes(settings: Settings) -> dict[str, Any]:
    """Bytes of the database directory: `used` (up to each file's last non-zero page:
    what the records and index entries occupy; the plan is fitted on it) and `total`
    (apparent size, preallocated tails included), each split into the record store files
    and the schema indexes under schema/; the largest files by name (apparent and used);
    the transaction logs apart (disk only, preallocated in 256 MiB files, never cached)."""
    root = database_dir(settings)
    sums = {"store": 0, "index": 0, "store_used": 0, "index_used": 0}
    files: dict[str, tuple[int, int]] = {}
    for p in root.rglob("*"):
        if not p.is_file():
            continue
        size, used = p.stat().st_size, used_extent(p)
        part = "index" if p.relative_to(root).parts[0] == "schema" else "store"
        sums[part] += size
        sums[f"{part}_used"] += used
        if part == "store":
            files[p.name] = (size, used)
    logs = sum(p.stat().st_size for p in tx_log_dir(settings).rglob("*") if p.is_file())
    top = dict(sorted(files.items(), key=lambda kv: -kv[1][0])[:8])
    return {
        "used": sums["store_used"] + sums["index_used"],
        "total": sums["store"] + sums["index"],
        "record_store": sums["store"],
        "record_store_used": sums["store_used"],
        "indexes": sums["index"],
        "indexes_used": sums["index_used"],
        "largest_files_total_used": top,
        "tx_logs": logs,
    }


def grow_and_measure(settings: Settings, users: int, avg_degree: float) -> list[dict[str, Any]]:
    """On an empty database (the caller reset the stack): the schema, then each kind of
    item of `seed synthetic --users N --avg-degree D --seed 42`, measuring the stopped
    store after each step. Leaves Neo4j running with the whole graph."""
    from graph.db import open_sync_driver
    from seeds import bulk
    from seeds.common import ensure_schema, graph_counts, refresh_plans, start_of_today
    from seeds.synthetic import (
        Spec,
        build_content,
        build_friendships,
        build_users,
        generate_edges,
    )
    from socialgraph.devstack import Neo4jServer

    spec = Spec(users=users, avg_degree=avg_degree, seed=42)
    anchor = start_of_today()
    t = time.perf_counter()
    user_rows, created = build_users(spec, anchor)
    edges = generate_edges(spec)
    friend_rows = build_friendships(spec, edges, created, anchor)
    content = build_content(spec, edges, created, anchor)
    log(f"  generated {users:,} users' graph in {time.perf_counter() - t:.1f} s")
    db = settings.neo4j_database
    kw: dict[str, Any] = {"database": db, "batch_size": BATCH}

    def write(stage: str, driver: Any) -> None:
        if stage == "schema":
            ensure_schema(driver, db)
            return
        # Index statistics sampled on an emptier graph (and plans cached before the
        # restart) would make each row's lookup a scan: resample and replan before each step.
        refresh_plans(driver, db)
        if stage == "users":
            bulk.users_packed(driver, user_rows, create=True, writers=WRITERS, **kw)
        elif stage == "friendships":
            bulk.friendships_packed(driver, friend_rows, create=True, writers=WRITERS, **kw)
        else:  # as seeds.common.write_content: posts, likes, comments
            writer = {"posts": bulk.posts, "likes": bulk.likes, "comments": bulk.comments}
            writer[stage](driver, getattr(content, stage), **kw)

    server = Neo4jServer(settings)
    out = []
    for stage in STAGES:
        t = time.perf_counter()
        driver = open_sync_driver(settings)
        try:
            write(stage, driver)
            if stage == STAGES[-1]:
                refresh_plans(driver, db)  # as `seed synthetic` ends: plans for the API
            counts = graph_counts(driver, db)
        finally:
            driver.close()
        wrote = time.perf_counter() - t
        server.stop()  # a clean stop checkpoints: the store files now hold everything
        sizes = disk_sizes(settings)
        server.start()
        log(
            f"  {stage:<11} written in {wrote:5.1f} s; store used {sizes['used'] / 1e6:6.1f} MB "
            f"(records {sizes['record_store_used'] / 1e6:.1f}, indexes "
            f"{sizes['indexes_used'] / 1e6:.1f}; files {sizes['total'] / 1e6:.1f}); "
            f"counts {counts}"
        )
        out.append({"stage": stage, "counts": counts, "bytes": sizes, "write_s": round(wrote, 1)})
    return out
