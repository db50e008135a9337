"""Benchmark `socialgraph seed synthetic` at 100,000 users and ~1,000,000 friendships.

    SOCIALGRAPH_ENV=test NEO4J_URI=bolt://127.0.0.1:7692 ... \
        .venv/bin/python bench/seed_bench.py [--users 100000] [--avg-degree 20]
        [--batch-sizes 10000,1000] [--writers 2] [--compare-writers]
        [--skip-networkx] [--merge-rerun] [--keep]

A script, not a test: it DELETES the whole graph of the configured Neo4j before each
run, so it refuses to run outside SOCIALGRAPH_ENV=test unless given --yes. For each
batch size (the first is the chosen default) it resets the graph, then seeds the same
graph through `seeds.synthetic.seed_synthetic` (CREATE fast path, no posts) and prints
users/s, friendships/s and the wall time of users + friendships (generation included),
then the ratio between the batch sizes. It also times networkx's powerlaw_cluster_graph
against `seeds.generators`, and prints the load average, because the dev machine (2 cores)
is shared.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.config import Settings, get_settings
from graph.db import open_sync_driver
from seeds.common import reset_graph
from seeds.generators import holme_kim_edges
from seeds.synthetic import Spec, seed_synthetic
from socialgraph import devstack

SEED_STEPS = (
    "generate users",
    "generate graph",
    "generate friendships",
    "users",
    "wait for users",
    "friendships",
)


def server_cpu(settings: Settings) -> float | None:
    """CPU seconds (user + system) of the local stack's Neo4j process, if it runs here."""
    pid = devstack.Neo4jServer(settings).pid()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min) {five:.2f} (5 min) on {os.cpu_count()} cores"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--avg-degree", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument(
        "--batch-sizes",
        default="10000,1000",
        help="comma-separated; the first is the chosen default",
    )
    ap.add_argument("--writers", type=int, default=2, help="concurrent writer sessions")
    ap.add_argument(
        "--compare-writers",
        action="store_true",
        help="also run the first batch size with a single writer",
    )
    ap.add_argument(
        "--skip-networkx", action="store_true", help="do not time networkx's generator (13+ s)"
    )
    ap.add_argument(
        "--merge-rerun",
        action="store_true",
        help="also time an idempotent re-run (MERGE path) at the first batch size",
    )
    ap.add_argument("--keep", action="store_true", help="leave the last seeded graph in place")
    ap.add_argument("--yes", action="store_true", help="allow wiping a non-test database")
    args = ap.parse_args()
    settings = get_settings()
    if settings.env != "test" and not args.yes:
        print(
            f"refusing to wipe {settings.neo4j_uri} (SOCIALGRAPH_ENV={settings.env}); "
            "use the test stack or pass --yes",
            file=sys.stderr,
        )
        return 2
    logging.getLogger("neo4j.notifications").setLevel(logging.ERROR)
    sizes = [int(s) for s in args.batch_sizes.split(",") if s.strip()]
    spec = Spec(users=args.users, avg_degree=args.avg_degree, seed=args.seed, posts_per_user=0)
    print(
        f"seed synthetic: {spec.users:,} users, avg degree {spec.avg_degree:g} "
        f"(Holme-Kim m={spec.m}, p={spec.triangle_prob}), seed {spec.seed}, no posts; "
        f"Neo4j {settings.neo4j_uri}, heap {settings.neo4j_heap}, "
        f"page cache {settings.neo4j_pagecache}"
    )
    print(load())

    if not args.skip_networkx:
        import networkx as nx

        t = time.perf_counter()
        g = nx.powerlaw_cluster_graph(spec.users, spec.m, spec.triangle_prob, seed=spec.seed)
        nx_s = time.perf_counter() - t
        t = time.perf_counter()
        edges = holme_kim_edges(spec.users, spec.m, spec.triangle_prob, spec.seed)
        ours_s = time.perf_counter() - t
        same = g.number_of_edges() == len(edges)
        print(
            f"generator: networkx powerlaw_cluster_graph {nx_s:.1f} s, "
            f"seeds.generators.holme_kim_edges {ours_s:.1f} s "
            f"({nx_s / ours_s:.1f}x), {len(edges):,} edges (same count: {same})"
        )
        del g, edges

    driver = open_sync_driver(settings)
    runs = [(size, args.writers) for size in sizes]
    if args.compare_writers and args.writers != 1:
        runs.append((sizes[0], 1))
    results: list[tuple[int, int, float, float, float, float | None]] = []
    try:
        for size, writers in runs:
            t = time.perf_counter()
            reset_graph(driver, settings.neo4j_database)
            reset_s = time.perf_counter() - t
            cpu_before = server_cpu(settings)
            report = seed_synthetic(
                driver,
                spec,
                database=settings.neo4j_database,
                batch_size=size,
                writers=writers,
                show_progress=False,
            )
            cpu_after = server_cpu(settings)
            cpu, cpu_s = "n/a", None
            if cpu_before is not None and cpu_after is not None:
                cpu_s = cpu_after - cpu_before
                per_edge = cpu_s / report.written["friendships"] * 1e6
                cpu = f"{cpu_s:.1f} s = {per_edge:.0f} µs per friendship, users included"
            assert report.extra["create_path"], "graph not empty after reset"
            wall = report.extra["graph_seconds"]
            users_s = report.written["users"] / report.seconds["users"]
            edges_s = report.written["friendships"] / report.seconds["friendships"]
            results.append((size, writers, wall, users_s, edges_s, cpu_s))
            steps = ", ".join(f"{k} {report.seconds[k]:.1f} s" for k in SEED_STEPS)
            print(
                f"batch {size:>6,} x {writers} writer(s): users + friendships {wall:.1f} s "
                f"({steps}); {report.written['users']:,} users at {users_s:,.0f}/s, "
                f"{report.written['friendships']:,} friendships at {edges_s:,.0f}/s "
                f"[reset before: {reset_s:.1f} s; index resample + replan after: "
                f"{report.seconds.get('replan', 0.0):.1f} s] [Neo4j CPU during the seed: {cpu}] "
                f"[{load()}]",
                flush=True,
            )
            if args.merge_rerun and (size, writers) == runs[0]:
                again = seed_synthetic(
                    driver,
                    spec,
                    database=settings.neo4j_database,
                    batch_size=size,
                    writers=writers,
                    show_progress=False,
                )
                print(
                    f"batch {size:>6,} x {writers} writer(s): idempotent re-run (MERGE "
                    f"path) {again.extra['graph_seconds']:.1f} s, friendships "
                    f"{again.seconds['friendships']:.1f} s, graph unchanged: "
                    f"{again.totals == report.totals}",
                    flush=True,
                )
        if not args.keep:
            # Leave an empty graph: the test suite's per-test wipe (DETACH DELETE of 10,000
            # nodes per transaction) runs out of transaction memory on a million edges.
            t = time.perf_counter()
            reset_graph(driver, settings.neo4j_database)
            print(f"graph reset after the benchmark: {time.perf_counter() - t:.1f} s")
    finally:
        driver.close()
    if len(results) > 1:
        base = results[0]
        for size, writers, wall, users_s, edges_s, cpu_s in results[1:]:
            cpu_ratio = f"{cpu_s / base[5]:.2f}" if cpu_s and base[5] else "n/a"
            print(
                f"batch {base[0]:,} x {base[1]} vs {size:,} x {writers}: time ratio "
                f"{wall / base[2]:.2f} (the second takes that many times as long); "
                f"throughput ratio users/s {base[3] / users_s:.2f}, friendships/s "
                f"{base[4] / edges_s:.2f}; Neo4j CPU ratio {cpu_ratio}"
            )
    if results and spec.users >= 100_000:  # the target is about 100k users / ~1M edges
        target = results[0][2]
        print(
            f"target <= 60 s for users + friendships at the chosen settings: "
            f"{'met' if target <= 60 else 'MISSED'} ({target:.1f} s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
