"""API benchmark: latency percentiles and throughput per endpoint, with side-by-side baselines.

    .venv/bin/python -m bench.run                 # 100,000 users, ~1,000,000 friendships
    .venv/bin/python -m bench.run --quick         # 5,000 users, a smoke run (~3 minutes)
    options: --users N --avg-degree D --workers W --levels 1,8,32 --rates 250,500,1000
             --rounds R --only suggestions,feeds,login,messages,profile,networkx
             --reseed --keep-stack --out DIR --yes

A script, not a test. It runs against its own local stack (defaults: Bolt 7695, Redis
6395, state dir .state/bench, heap and page cache 2g; the usual environment variables
override), starting it with `socialgraph dev up` if needed and stopping it at the end if
it started it. Steps:

1. Seed `socialgraph seed synthetic --users N --avg-degree D` unless the graph already
   holds that graph (detected by counts); a mismatch reseeds with `--reset` (bench stack only).
2. Prepare: sample users, open the inboxes of message recipients (who_can_message =
   'everyone'), give a few users real Argon2id password hashes, flush the bench Redis.
3. PROFILE the suggestion query on sampled users; load the friendship graph into networkx
   and time the same suggestions there (checking they agree with Cypher).
4. Start the API and a bare FastAPI app with uvicorn (same settings and worker count) and
   measure, closed loop at each concurrency level: suggestions cold (a distinct user per
   request, cache epoch bumped first) against the same query through the neo4j driver,
   suggestions warm against the bare endpoint (rounds alternate A/B so both see the same
   noise), feeds cold and warm (`recent`, `top`), logins; then message sends open loop at
   rising rates with WebSocket clients timing delivery.
5. Write results.json, results.md and latency.png (bench/results/ unless --out) and print
   the tables.

Per phase it also records CPU time per component (load generator, API, Neo4j, Redis) and
how much CPU other processes took on the shared machine meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import platform
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

if TYPE_CHECKING:
    import redis.asyncio as aioredis
    from neo4j import Driver

    from bench.client import Pool
    from bench.cpu import CpuMeter
    from bench.fixtures import Tokens, User
    from bench.load import RequestFn
    from core.config import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_ENV = {
    "SOCIALGRAPH_ENV": "development",
    "SOCIALGRAPH_STATE_DIR": str(REPO_ROOT / ".state" / "bench"),
    "NEO4J_URI": "bolt://127.0.0.1:7695",
    "REDIS_URL": "redis://127.0.0.1:6395/0",
    "NEO4J_HEAP": "2g",
    "NEO4J_PAGECACHE": "2g",
}
# Limits raised for the bench server only: the benchmark measures the path, not the limiter.
SERVER_ENV = {"SEND_RATE_PER_10S": "1000000000", "LOGIN_RATE_PER_MINUTE": "1000000000"}
RESULTS = REPO_ROOT / "bench" / "results"
SECTIONS = ("profile", "networkx", "suggestions", "feeds", "login", "messages")
SUGGESTION_PARAMS = {"after_score": None, "after_id": None, "limit": 21}  # the API's first page


@dataclass(frozen=True)
class Plan:
    users: int = 100_000
    avg_degree: float = 20.0
    seed: int = 42
    workers: int = 2
    levels: tuple[int, ...] = (1, 8, 32)
    rounds: int = 2  # A/B pairs alternate this many times per level; samples are pooled
    cold_requests: int = 400  # per round and level (each a distinct user)
    cold_seconds: float = 15.0
    warm_requests: int = 20_000
    warm_seconds: float = 6.0
    warm_users: int = 40
    feed_cold_requests: int = 400
    feed_cold_seconds: float = 8.0
    feed_warm_seconds: float = 5.0
    rates: tuple[int, ...] = (25, 50, 100, 250, 500, 1000)
    rate_seconds: float = 6.0
    senders: int = 200
    recipients: int = 16
    login_levels: tuple[int, ...] = (1, 2, 4)
    login_requests: int = 40
    login_users: int = 4
    nx_users: int = 200  # timed in networkx
    nx_check_users: int = 30  # also run through Cypher to compare the answers
    breakdown_users: int = 30
    profile_users: int = 10
    warmup_seconds: float = 8.0
    quick: bool = False

    @staticmethod
    def quick_plan() -> Plan:
        return Plan(
            users=5_000,
            levels=(1, 8),
            rounds=1,
            cold_requests=120,
            cold_seconds=3.0,
            warm_requests=3_000,
            warm_seconds=2.0,
            warm_users=20,
            feed_cold_requests=80,
            feed_cold_seconds=2.0,
            feed_warm_seconds=1.5,
            rates=(25, 100),
            rate_seconds=2.0,
            senders=40,
            recipients=4,
            login_levels=(1, 2),
            login_requests=8,
            login_users=2,
            nx_users=30,
            nx_check_users=10,
            breakdown_users=8,
            profile_users=3,
            warmup_seconds=3.0,
            quick=True,
        )


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def sg(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """The project's CLI, with this process's environment (the bench stack)."""
    return subprocess.run(
        [str(REPO_ROOT / ".venv" / "bin" / "socialgraph"), *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=check,
    )


def graph_matches(counts: dict[str, int], plan: Plan) -> bool:
    expected_edges = plan.users * plan.avg_degree / 2
    return (
        counts["users"] == plan.users
        and abs(counts["friendships"] - expected_edges) <= 0.05 * expected_edges
        and counts["posts"] > 0
    )


# ------------------------------------------------------------------ bookkeeping


@dataclass
class Row:
    endpoint: str
    variant: str
    concurrency: int
    stats: dict[str, Any]
    cpu: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        n = max(1, self.stats["requests"])
        per_request = {
            k: round(v * 1000 / n, 3)
            for k, v in self.cpu.items()
            if k not in ("machine", "wall", "others")
        }
        wall = self.cpu.get("wall", 0.0)
        return {
            "endpoint": self.endpoint,
            "variant": self.variant,
            "concurrency": self.concurrency,
            **self.stats,
            "cpu_ms_per_request": per_request,
            "others_cpu_cores": round(self.cpu.get("others", 0.0) / wall, 2) if wall else None,
        }


@dataclass
class Side:
    """One measured thing in an A/B comparison."""

    endpoint: str
    variant: str
    fn: RequestFn
    before_round: Callable[[], Awaitable[None]] | None
    max_requests: int
    max_seconds: float


def add_cpu(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    return {k: round(a.get(k, 0.0) + b.get(k, 0.0), 3) for k in set(a) | set(b)}


@dataclass
class Bench:
    plan: Plan
    args: argparse.Namespace
    sections: set[str]
    out: dict[str, Any] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)

    def record(self, row: Row) -> None:
        self.rows.append(row)
        s = row.stats
        log(
            f"  {row.endpoint:<13} {row.variant:<13} c={row.concurrency:<3} "
            f"n={s['requests']:<6} err={s['errors']:<3} {s['throughput_rps']:>8.1f} req/s  "
            f"p50 {s['p50_ms']:8.2f}  p95 {s['p95_ms']:8.2f}  p99 {s['p99_ms']:8.2f} ms"
            + (f"  errors: {s['error_examples']}" if s["errors"] else "")
        )


async def run_sides(
    bench: Bench,
    meter: CpuMeter,
    sides: list[Side],
    levels: tuple[int, ...],
    rounds: int,
    pair: bool = False,
) -> None:
    """For each level, run the sides one after the other, `rounds` times (A B A B ...),
    and pool each side's samples. Round r uses request indexes r*max_requests..., so
    every side sees the same users in the same order; with `pair`, each side's stats are
    also computed over only the requests that all sides completed (`paired`)."""
    from bench import load

    for c in levels:
        parts: dict[int, list[tuple[load.Recorder, float]]] = {i: [] for i in range(len(sides))}
        cpu: dict[int, dict[str, float]] = {i: {} for i in range(len(sides))}
        for r in range(rounds):
            for i, side in enumerate(sides):
                if side.before_round is not None:
                    await side.before_round()
                meter.start()
                rec, dur = await load.closed_loop(
                    side.fn,
                    c,
                    side.max_requests,
                    side.max_seconds,
                    start_index=r * side.max_requests,
                )
                cpu[i] = add_cpu(cpu[i], meter.stop())
                parts[i].append((rec, dur))
        merged = [load.merge(parts[i]) for i in range(len(sides))]
        both = load.paired([m[0] for m in merged]) if pair else []
        for i, side in enumerate(sides):
            stats = merged[i][1].as_dict()
            if pair:
                stats["paired"] = both[i].as_dict()
            bench.record(Row(side.endpoint, side.variant, c, stats, cpu[i]))


# ------------------------------------------------------------------ main flow


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="5,000 users, short phases (~3 min)")
    ap.add_argument("--users", type=int)
    ap.add_argument("--avg-degree", type=float)
    ap.add_argument("--workers", type=int, help="uvicorn workers for every server (default 2)")
    ap.add_argument("--levels", help="closed-loop concurrency levels, e.g. 1,8,32")
    ap.add_argument("--rates", help="message send rates (per second), e.g. 250,500,1000")
    ap.add_argument("--rounds", type=int, help="A/B alternations per level")
    ap.add_argument("--only", help=f"comma-separated subset of {','.join(SECTIONS)}")
    reuse = ap.add_mutually_exclusive_group()
    reuse.add_argument(
        "--reuse",
        action="store_true",
        default=True,
        help="reuse the graph when its counts match (default)",
    )
    reuse.add_argument("--reseed", action="store_true", help="always reseed with --reset")
    ap.add_argument("--skip-networkx", action="store_true", help="no networkx comparison")
    ap.add_argument("--keep-stack", action="store_true", help="leave the stack running")
    ap.add_argument(
        "--out",
        type=Path,
        help="results directory (default bench/results; with --quick bench/results/tmp/quick, "
        "so a smoke run never replaces the committed results)",
    )
    ap.add_argument("--yes", action="store_true", help="allow a stack that is not a bench stack")
    args = ap.parse_args(argv)

    plan = Plan.quick_plan() if args.quick else Plan()
    if args.out is None:
        args.out = RESULTS / "tmp" / "quick" if args.quick else RESULTS
    overrides: dict[str, Any] = {}
    if args.users:
        overrides["users"] = args.users
    if args.avg_degree:
        overrides["avg_degree"] = args.avg_degree
    if args.workers:
        overrides["workers"] = args.workers
    if args.levels:
        overrides["levels"] = tuple(int(x) for x in args.levels.split(","))
    if args.rates:
        overrides["rates"] = tuple(int(x) for x in args.rates.split(","))
    if args.rounds:
        overrides["rounds"] = args.rounds
    plan = replace(plan, **overrides)
    sections = set(args.only.split(",")) if args.only else set(SECTIONS)
    if unknown := sections - set(SECTIONS):
        ap.error(f"unknown sections {sorted(unknown)}; choose from {SECTIONS}")
    if args.skip_networkx:
        sections.discard("networkx")

    for k, v in BENCH_ENV.items():
        os.environ.setdefault(k, v)
    logging.getLogger("neo4j").setLevel(logging.ERROR)
    from bench import fixtures
    from core.config import get_settings
    from socialgraph import devstack

    settings = get_settings()
    try:
        fixtures.check_bench_stack(settings, args.yes)
    except fixtures.NotBenchStack as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    # Judged by the state dir's pid files (what `dev down` would stop), not by the ports.
    started_stack = not any(st.running for st in devstack.status(settings))
    log(
        f"stack: Neo4j {settings.neo4j_uri}, Redis {settings.redis_url}, "
        f"state {settings.state_dir}, heap {settings.neo4j_heap}, "
        f"page cache {settings.neo4j_pagecache}"
    )
    up = sg("dev", "up", check=False)
    if up.returncode != 0:
        print(up.stdout + up.stderr, file=sys.stderr)
        return 1
    try:
        return run(Bench(plan, args, sections), settings)
    finally:
        if started_stack and not args.keep_stack:
            log("stopping the stack this run started (socialgraph dev down)")
            sg("dev", "down", check=False)


def seed_if_needed(bench: Bench, driver: Driver, db: str) -> dict[str, int] | None:
    from bench import fixtures

    plan = bench.plan
    counts = fixtures.graph_counts(driver, db)
    if not bench.args.reseed and graph_matches(counts, plan):
        log("reusing the graph (counts match)")
        return counts
    reset = counts["users"] > 0
    cmd = ["seed", "synthetic", "--users", str(plan.users), "--avg-degree", f"{plan.avg_degree:g}"]
    cmd += ["--seed", str(plan.seed), "--no-progress", *(["--reset"] if reset else [])]
    log(
        f"seeding: socialgraph {' '.join(cmd)} (the graph had {counts['users']:,} users, "
        f"{counts['friendships']:,} friendships)"
    )
    t = time.perf_counter()
    seeded = sg(*cmd, check=False)
    print(seeded.stdout[-3000:], seeded.stderr[-3000:], sep="\n")
    if seeded.returncode != 0:
        return None
    bench.out["seed_seconds"] = round(time.perf_counter() - t, 1)
    return fixtures.graph_counts(driver, db)


def run(bench: Bench, settings: Settings) -> int:
    from bench import fixtures
    from graph.db import open_sync_driver

    plan = bench.plan
    db = settings.neo4j_database
    t_start = time.time()
    driver = open_sync_driver(settings)
    try:
        counts = seed_if_needed(bench, driver, db)
        if counts is None:
            return 1
        bench.out["graph"] = counts
        log(
            f"graph: {counts['users']:,} users, {counts['friendships']:,} friendships, "
            f"{counts['posts']:,} posts, {counts['likes']:,} likes, "
            f"{counts['comments']:,} comments"
        )
        bench.out["exclusions_in_graph"] = fixtures.read(driver, db, fixtures.EXCLUSION_COUNTS)[0]
        sizes = {
            "cold": max(plan.rounds * plan.cold_requests, plan.feed_cold_requests) + 100,
            "warm": plan.warm_users,
            "warmup": 40,
            "senders": plan.senders,
            "recipients": plan.recipients,
            "logins": plan.login_users,
        }
        cohorts = fixtures.sample_cohorts(counts["users"], plan.seed + 1, sizes)
        people = {name: fixtures.users(driver, db, ids) for name, ids in asdict(cohorts).items()}
        fixtures.open_inboxes(driver, db, [u.id for u in people["recipients"]])
        passwords = fixtures.set_passwords(driver, db, people["logins"])
        degrees = sorted(u.degree for u in people["cold"])
        bench.out["sample"] = {
            "cold_users": len(degrees),
            "cold_degree_p50": degrees[len(degrees) // 2],
            "cold_degree_max": degrees[-1],
        }
        if "profile" in bench.sections:
            profile_suggestions(bench, driver, db, people["cold"][: plan.profile_users])
        if "networkx" in bench.sections:
            networkx_baseline(bench, driver, db, [u.id for u in people["cold"]])
    finally:
        driver.close()

    import uvloop

    uvloop.run(measure_all(bench, settings, people, passwords))
    bench.out["wall_seconds"] = round(time.time() - t_start, 1)
    finish(bench, settings)
    return 0


# ------------------------------------------------------------------ profile and networkx


def profile_suggestions(bench: Bench, driver: Driver, db: str, users: list[User]) -> None:
    from bench import fixtures, profile
    from graph.recommend import HUB_DEGREE

    log(f"PROFILE recommend.adamic_adar on {len(users)} sampled users")
    profiles = []
    for u in users:
        params = {"user_id": u.id, "hub_degree": HUB_DEGREE, **SUGGESTION_PARAMS}
        p = profile.profile(driver, db, "recommend.adamic_adar", params)
        work = fixtures.read(
            driver, db, fixtures.WORK_ESTIMATE, user_id=u.id, hub_degree=HUB_DEGREE
        )[0]
        profiles.append({**p, "work": work})
    bench.out["profile"] = prof = summarize_profiles(profiles)
    log(
        f"  db hits p50 {prof['db_hits_p50']:,}, max {prof['db_hits_max']:,}; server time p50 "
        f"{prof['server_ms_p50']} ms, max {prof['server_ms_max']} ms"
    )
    for op in prof["typical"]["top_operators"][:4]:
        log(f"    {op['operator']:<18} rows {op['rows']:>9,} db hits {op['db_hits']:>10,}")


def summarize_profiles(profiles: list[dict[str, Any]]) -> dict[str, Any]:
    from bench import profile
    from bench.load import percentile

    hits = [float(p["db_hits"]) for p in profiles]
    ms = [float(p["server_ms"]) for p in profiles]
    ordered = sorted(profiles, key=lambda p: int(p["db_hits"]))

    def brief(p: dict[str, Any]) -> dict[str, Any]:
        return {
            "user_id": p["params"]["user_id"],
            "db_hits": p["db_hits"],
            "server_ms": p["server_ms"],
            "result_rows": p["result_rows"],
            "page_cache_misses": p["page_cache_misses"],
            "work": p["work"],
            "planner": p["planner"],
            "runtime": p["runtime"],
            "top_operators": profile.top_operators(p["operators"]),
            "operators": p["operators"],
        }

    return {
        "users": len(profiles),
        "db_hits_p50": int(percentile(hits, 0.5)),
        "db_hits_max": int(max(hits)),
        "server_ms_p50": round(percentile(ms, 0.5), 1),
        "server_ms_max": max(ms),
        "per_user": [
            {
                "user_id": p["params"]["user_id"],
                "db_hits": p["db_hits"],
                "server_ms": p["server_ms"],
                **p["work"],
            }
            for p in profiles
        ],
        "typical": brief(ordered[len(ordered) // 2]),
        "heaviest": brief(ordered[-1]),
    }


def networkx_baseline(bench: Bench, driver: Driver, db: str, cold: list[str]) -> None:
    from bench import nxbaseline
    from bench.load import Recorder, Stats
    from graph.export import friendship_graph

    plan = bench.plan
    log("loading the friendship graph into networkx (graph.export.friendship_graph)")
    t = time.perf_counter()
    g = friendship_graph(driver, database=db)
    load_s = time.perf_counter() - t
    log(f"  {g.number_of_nodes():,} nodes, {g.number_of_edges():,} edges in {load_s:.1f} s")
    users = cold[: plan.nx_users]
    times, nx_pages = nxbaseline.timed_suggestions(g, users)
    del g
    agreement = nxbaseline.compare(
        nx_pages, cypher_suggestions(driver, db, users[: plan.nx_check_users])
    )
    stats = Stats.of(Recorder(latencies=times), sum(times)).as_dict()
    bench.out["networkx"] = {
        "load_seconds": round(load_s, 1),
        "users": len(users),
        "stats": stats,
        "agreement": agreement.as_dict(),
    }
    log(
        f"  networkx suggestions: p50 {stats['p50_ms']} ms, p95 {stats['p95_ms']} ms, p99 "
        f"{stats['p99_ms']} ms over {len(users)} users; agreement with Cypher on "
        f"{agreement.users}: {agreement.identical} identical, {agreement.same_set} same ids, "
        f"max score diff {agreement.max_score_diff:.2e}"
    )


def cypher_suggestions(
    driver: Driver, db: str, users: list[str]
) -> dict[str, list[tuple[str, float]]]:
    from graph.queries import q
    from graph.recommend import HUB_DEGREE

    query = q("recommend.adamic_adar")
    out = {}
    for u in users:
        params = {"user_id": u, "hub_degree": HUB_DEGREE, **SUGGESTION_PARAMS, "limit": 20}
        records, _, _ = driver.execute_query(
            query.text, query.bind(params), database_=db, routing_="r"
        )
        out[u] = [(r["user"]["id"], float(r["score"])) for r in records[0]["items"]]
    return out


# ------------------------------------------------------------------ HTTP measurements


@dataclass
class Ctx:
    """What the HTTP measurements share: the API's address, a connection pool, tokens,
    the CPU meter, the bench Redis, and the sampled users."""

    bench: Bench
    settings: Settings
    host: str
    port: int
    pool: Pool
    tokens: Tokens
    meter: CpuMeter
    redis: aioredis.Redis
    people: dict[str, list[User]]
    tmp: Path

    @property
    def plan(self) -> Plan:
        return self.bench.plan

    def get(self, path: str, user: User) -> bytes:
        from bench import client

        headers = {"Authorization": self.tokens.bearer(user)}
        return client.build_request("GET", path, self.host, self.port, headers)

    async def expect(self, raw: bytes, status: int = 200, pool: Pool | None = None) -> bool:
        r = await (pool or self.pool).send(raw)
        if r.status != status:
            raise RuntimeError(f"HTTP {r.status}: {r.body[:120]!r}")
        return True

    def replay(self, reqs: list[bytes], pool: Pool | None = None) -> RequestFn:
        """Request i sends reqs[i mod len(reqs)] (prebuilt, tokens included)."""

        def fn(i: int) -> Awaitable[bool]:
            return self.expect(reqs[i % len(reqs)], pool=pool)

        return fn

    def each_user(self, path: str, group: list[User]) -> RequestFn:
        return self.replay([self.get(path, u) for u in group])

    def bumper(self, kind: str) -> Callable[[], Awaitable[None]]:
        """Invalidate every cached `kind` answer: the global epoch of that kind moves on."""
        from redislayer import rkeys

        async def bump() -> None:
            await self.redis.incr(rkeys.epoch(kind))

        return bump


async def measure_all(
    bench: Bench, settings: Settings, people: dict[str, list[User]], passwords: dict[str, str]
) -> None:
    import redis.asyncio as aioredis

    from bench import client, cpu, fixtures, servers
    from socialgraph.devstack import Neo4jServer, RedisServer

    plan = bench.plan
    tmp = bench.args.out / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    tokens = fixtures.Tokens(settings)
    for group in people.values():  # issued up front: no JWT signing inside timed requests
        for u in group:
            tokens.bearer(u)
    redis = aioredis.Redis.from_url(settings.redis_url, decode_responses=True)
    await redis.flushdb()  # the bench stack's Redis only (checked in main)
    api = servers.Server("api", "api.main:app_factory", plan.workers, SERVER_ENV, tmp)
    log(f"starting the API: uvicorn {' '.join(api.command[3:])}")
    api.start("/readyz")
    meter = cpu.CpuMeter()
    for name, pid in (
        ("neo4j", Neo4jServer(settings).pid()),
        ("redis", RedisServer(settings).pid()),
    ):
        if pid:
            meter.pids[name] = pid
    assert api.proc is not None
    meter.server_pgids["api"] = api.proc.pid
    pool = client.Pool(servers.HOST, api.port, 512)
    ctx = Ctx(bench, settings, servers.HOST, api.port, pool, tokens, meter, redis, people, tmp)
    try:
        log("warm-up: unrecorded suggestions and feeds for other users")
        for path in ("/v1/suggestions", "/v1/feed?order=recent", "/v1/feed?order=top"):
            await closed(ctx.each_user(path, people["warmup"]), 8, 40, plan.warmup_seconds)
        first = await pool.send(ctx.get("/v1/suggestions", people["warmup"][0]))
        assert first.status == 200 and json.loads(first.body)["items"], first.body[:200]
        if "suggestions" in bench.sections:
            await suggestions_cold(ctx)
            await suggestions_warm(ctx)
        if "feeds" in bench.sections:
            await feeds(ctx)
        if "login" in bench.sections:
            await logins(ctx, passwords)
        if "messages" in bench.sections:
            bench.out["messages"] = await messages(ctx)
    finally:
        await pool.close()
        api.stop()
        await redis.aclose()


async def closed(fn: RequestFn, concurrency: int, n: int, seconds: float) -> None:
    """An unrecorded closed loop (warm-ups)."""
    from bench import load

    await load.closed_loop(fn, concurrency, n, seconds)


async def fill(fn: RequestFn, n: int) -> None:
    """Make sure requests 0..n-1 are cached before a warm measurement: a pass at low
    concurrency (so slow cold computations do not time out), then a sequential pass that
    recomputes whatever the first one missed (hits cost nothing). Failures are errors."""
    from bench import load

    for concurrency in (2, 1):
        rec, _ = await load.closed_loop(fn, concurrency, n, 600.0)
    if rec.errors:
        raise RuntimeError(f"could not fill the cache: {dict(rec.error_kinds)}")


async def suggestions_cold(ctx: Ctx) -> None:
    import neo4j

    from bench import load
    from graph.db import open_async_driver
    from graph.queries import q
    from graph.recommend import HUB_DEGREE

    plan, cold = ctx.plan, ctx.people["cold"]
    log(
        f"suggestions, cold (a distinct user per request, cache epoch bumped before each round) "
        f"vs the same Cypher through the async neo4j driver; levels {plan.levels}, "
        f"{plan.rounds} rounds"
    )
    query = q("recommend.adamic_adar")
    adriver = await open_async_driver(ctx.settings)  # the app's driver settings

    async def raw_driver(i: int) -> bool:
        params = query.bind(
            {"user_id": cold[i % len(cold)].id, "hub_degree": HUB_DEGREE, **SUGGESTION_PARAMS}
        )

        @neo4j.unit_of_work(timeout=ctx.settings.neo4j_query_timeout)
        async def work(tx: neo4j.AsyncManagedTransaction) -> list[dict[str, Any]]:
            result = await tx.run(query.text, params)
            return await result.data()

        async with adriver.session(
            database=ctx.settings.neo4j_database, default_access_mode=neo4j.READ_ACCESS
        ) as s:
            rows = await s.execute_read(work)
        return len(rows[0]["items"]) > 0

    try:
        await load.closed_loop(raw_driver, 4, 40, plan.warmup_seconds, start_index=len(cold) - 40)
        await run_sides(
            ctx.bench,
            ctx.meter,
            [
                Side(
                    "suggestions",
                    "cold",
                    ctx.each_user("/v1/suggestions", cold),
                    ctx.bumper("sugg"),
                    plan.cold_requests,
                    plan.cold_seconds,
                ),
                Side(
                    "suggestions",
                    "neo4j-driver",
                    raw_driver,
                    None,
                    plan.cold_requests,
                    plan.cold_seconds,
                ),
            ],
            plan.levels,
            plan.rounds,
            pair=True,
        )
    finally:
        await adriver.close()
    ctx.bench.out["breakdown"] = await breakdown(ctx.settings, cold[: plan.breakdown_users], 60.0)


async def breakdown(settings: Settings, users: list[User], max_seconds: float) -> dict[str, Any]:
    """Where the cold API time goes, measured in this process one call at a time: the
    suggestion query alone, the data-layer call (`graph.recommend.suggest`: degree check,
    query, pydantic models), the auth lookup every request makes, JSON encoding."""
    from bench.load import Recorder, Stats
    from graph import recommend
    from graph import users as graph_users
    from graph.db import Graph, open_async_driver

    driver = await open_async_driver(settings)
    graph = Graph(driver, settings.neo4j_database, settings.neo4j_query_timeout)
    names = ("adamic_adar query", "recommend.suggest", "users.principal", "model_dump_json")
    recs = {k: Recorder() for k in names}
    deadline = time.perf_counter() + max_seconds
    try:
        for u in users:
            if time.perf_counter() > deadline:
                break
            t = time.perf_counter()
            await graph.read(
                "recommend.adamic_adar",
                user_id=u.id,
                hub_degree=recommend.HUB_DEGREE,
                **SUGGESTION_PARAMS,
            )
            recs["adamic_adar query"].ok(time.perf_counter() - t)
            t = time.perf_counter()
            page = await recommend.suggest(graph, u.id)
            recs["recommend.suggest"].ok(time.perf_counter() - t)
            t = time.perf_counter()
            await graph_users.principal(graph, u.id)
            recs["users.principal"].ok(time.perf_counter() - t)
            t = time.perf_counter()
            page.model_dump_json()
            recs["model_dump_json"].ok(time.perf_counter() - t)
    finally:
        await driver.close()
    out = {k: Stats.of(r, sum(r.latencies)).as_dict() for k, r in recs.items()}
    log(
        "  in-process breakdown (c=1, p50 ms): "
        + ", ".join(f"{k} {v['p50_ms']:.2f}" for k, v in out.items())
    )
    return out


async def suggestions_warm(ctx: Ctx) -> None:
    from bench import client, servers

    plan, warm = ctx.plan, ctx.people["warm"]
    warm_reqs = [ctx.get("/v1/suggestions", u) for u in warm]
    warm_fn = ctx.replay(warm_reqs)
    await fill(warm_fn, len(warm_reqs))
    sample = await ctx.pool.send(warm_reqs[0])
    payload_path = ctx.tmp / "bare_payload.json"
    payload_path.write_bytes(sample.body)
    ctx.bench.out["payload_bytes"] = len(sample.body)
    bare = servers.Server(
        "bare",
        "bench.bare_app:app_factory",
        plan.workers,
        {"BENCH_BARE_PAYLOAD": str(payload_path)},
        ctx.tmp,
    )
    bare.start("/healthz")
    assert bare.proc is not None
    ctx.meter.server_pgids["bare"] = bare.proc.pid
    bare_pool = client.Pool(ctx.host, bare.port, 512)
    try:
        bare_fn = ctx.replay(
            [client.build_request("GET", "/v1/bare", ctx.host, bare.port)], bare_pool
        )
        check = await bare_pool.send(client.build_request("GET", "/v1/bare", ctx.host, bare.port))
        assert check.status == 200 and len(check.body) == len(sample.body), "payload differs"
        log(
            f"suggestions, warm ({len(warm)} users, cached) vs a bare FastAPI endpoint "
            f"({len(sample.body)} bytes; same uvicorn settings, {plan.workers} workers)"
        )

        async def rewarm() -> None:
            await fill(warm_fn, len(warm_reqs))

        async def bare_warmup() -> None:
            await closed(bare_fn, 8, 200, 5.0)

        await run_sides(
            ctx.bench,
            ctx.meter,
            [
                Side("suggestions", "warm", warm_fn, rewarm, plan.warm_requests, plan.warm_seconds),
                Side(
                    "bare-fastapi",
                    "fixed JSON",
                    bare_fn,
                    bare_warmup,
                    plan.warm_requests,
                    plan.warm_seconds,
                ),
            ],
            plan.levels,
            plan.rounds,
        )
        ctx.bench.out["client_check"] = await client_check(ctx.host, bare.port, plan)
    finally:
        await bare_pool.close()
        bare.stop()
        ctx.meter.server_pgids.pop("bare", None)
        with contextlib.suppress(OSError):
            payload_path.unlink()


async def client_check(host: str, port: int, plan: Plan) -> dict[str, Any]:
    """The load generator's own cost: the bare endpoint through this client and httpx."""
    import httpx

    from bench import client, load

    raw = client.build_request("GET", "/v1/bare", host, port)
    pool = client.Pool(host, port, 8)

    async def ours(i: int) -> bool:
        return (await pool.send(raw)).status == 200

    ours_rec, ours_s = await load.closed_loop(ours, 8, plan.warm_requests, plan.warm_seconds / 2)
    await pool.close()
    limits = httpx.Limits(max_connections=8, max_keepalive_connections=8)
    async with httpx.AsyncClient(base_url=f"http://{host}:{port}", limits=limits) as hc:

        async def via_httpx(i: int) -> bool:
            return (await hc.get("/v1/bare")).status_code == 200

        theirs_rec, theirs_s = await load.closed_loop(
            via_httpx, 8, plan.warm_requests, plan.warm_seconds / 2
        )
    a, b = load.Stats.of(ours_rec, ours_s), load.Stats.of(theirs_rec, theirs_s)
    log(
        f"  client check (bare endpoint, c=8): bench client {a.throughput_rps:.0f} req/s, "
        f"httpx {b.throughput_rps:.0f} req/s"
    )
    return {"bench_client": a.as_dict(), "httpx": b.as_dict()}


async def feeds(ctx: Ctx) -> None:
    plan, cold, warm = ctx.plan, ctx.people["cold"], ctx.people["warm"]
    for order in ("recent", "top"):
        path = f"/v1/feed?order={order}"
        log(f"feed {order}: cold (a distinct user per request) and warm ({len(warm)} users)")
        cold_side = Side(
            f"feed-{order}",
            "cold",
            ctx.each_user(path, cold),
            ctx.bumper("feed"),
            plan.feed_cold_requests,
            plan.feed_cold_seconds,
        )
        await run_sides(ctx.bench, ctx.meter, [cold_side], plan.levels, 1)
        warm_fn = ctx.each_user(path, warm)

        async def rewarm(fn: RequestFn = warm_fn, top: bool = order == "top") -> None:
            if top:  # `top` answers are cached per minute: measure within one minute
                left = 60 - time.time() % 60
                if left < plan.feed_warm_seconds + 4:
                    await asyncio.sleep(left + 0.2)
            await fill(fn, len(warm))

        warm_side = Side(
            f"feed-{order}", "warm", warm_fn, rewarm, plan.warm_requests, plan.feed_warm_seconds
        )
        await run_sides(ctx.bench, ctx.meter, [warm_side], plan.levels, 1)


async def logins(ctx: Ctx, passwords: dict[str, str]) -> None:
    from bench import client, load

    plan, users = ctx.plan, ctx.people["logins"]
    log(f"login (Argon2id verify), {len(users)} users, levels {plan.login_levels}")
    reqs = [
        client.build_request(
            "POST",
            "/v1/auth/token",
            ctx.host,
            ctx.port,
            {"Content-Type": "application/x-www-form-urlencoded"},
            urlencode({"username": u.handle, "password": passwords[u.handle]}).encode(),
        )
        for u in users
    ]
    fn = ctx.replay(reqs)
    for c in plan.login_levels:
        ctx.meter.start()
        rec, dur = await load.closed_loop(fn, c, plan.login_requests, 30.0)
        stats = load.Stats.of(rec, dur).as_dict()
        ctx.bench.record(Row("login", "argon2id", c, stats, ctx.meter.stop()))


async def messages(ctx: Ctx) -> dict[str, Any]:
    """Open-loop sends at rising rates; recipients hold WebSockets, and each message's text
    names its sequence number, so its arrival is timed against its send."""
    from websockets.asyncio.client import connect

    from bench import client, load

    plan = ctx.plan
    senders, recipients = ctx.people["senders"], ctx.people["recipients"]
    tag = uuid.uuid4().hex[:8]
    sent_at: dict[int, float] = {}
    acked: set[int] = set()
    received: dict[int, float] = {}

    async def listen(user: User) -> None:
        token = ctx.tokens.bearer(user).split(" ", 1)[1]
        url = f"ws://{ctx.host}:{ctx.port}/v1/ws?token={token}"
        async with connect(url, max_size=2**20) as ws:
            async for frame in ws:
                now = time.perf_counter()
                event = json.loads(frame)
                if event.get("type") != "message":
                    continue
                parts = str(event["message"].get("text", "")).split()
                if len(parts) == 3 and parts[0] == "bench" and parts[1] == tag:
                    received.setdefault(int(parts[2]), now)

    def request(i: int) -> bytes:
        s, r = senders[i % len(senders)], recipients[i % len(recipients)]
        body = json.dumps({"to": r.id, "text": f"bench {tag} {i}"}).encode()
        headers = {
            "Authorization": ctx.tokens.bearer(s),
            "Content-Type": "application/json",
            "Idempotency-Key": f"bench-{tag}-{i}",
        }
        return client.build_request("POST", "/v1/messages", ctx.host, ctx.port, headers, body)

    async def send(i: int) -> bool:
        raw = request(i)
        sent_at[i] = time.perf_counter()
        r = await ctx.pool.send(raw)
        if r.status != 201:
            raise RuntimeError(f"HTTP {r.status}: {r.body[:120]!r}")
        acked.add(i)
        return True

    listeners = [asyncio.create_task(listen(u)) for u in recipients]
    await asyncio.sleep(1.0)  # sockets connected and registered
    log(
        f"messages: open loop at {plan.rates} sends/s, {plan.rate_seconds:g} s each, "
        f"{len(senders)} senders -> {len(recipients)} recipients on WebSockets"
    )
    await closed(send, 4, 100, 10.0)  # warm-up (indexes far above the measured ones)
    sent_at.clear()
    steps = []
    start = 1_000_000
    try:
        for rate in plan.rates:
            ctx.meter.start()
            st = await load.open_loop(send, rate, plan.rate_seconds, 512, start_index=start)
            used = ctx.meter.stop()
            ids = range(start, start + st.scheduled)
            deadline = time.perf_counter() + 3.0
            while time.perf_counter() < deadline and any(
                i in acked and i not in received for i in ids
            ):
                await asyncio.sleep(0.05)
            delivered = [received[i] - sent_at[i] for i in ids if i in acked and i in received]
            delivery = load.Stats.of(
                load.Recorder(latencies=delivered), st.from_schedule.duration_s
            )
            missing = sum(1 for i in ids if i in acked and i not in received)
            steps.append(
                {
                    **st.as_dict(),
                    "delivery": delivery.as_dict(),
                    "undelivered": missing,
                    "cpu_ms_per_send": {
                        k: round(v * 1000 / max(1, st.completed), 3)
                        for k, v in used.items()
                        if k not in ("machine", "wall", "others")
                    },
                    "others_cpu_cores": round(used["others"] / used["wall"], 2),
                }
            )
            fs = st.from_schedule
            log(
                f"  {rate:>5}/s offered: {st.achieved_rps:7.1f}/s achieved, err {st.errors}, "
                f"dropped {st.dropped}; send p50 {fs.p50_ms:.1f} p95 {fs.p95_ms:.1f} p99 "
                f"{fs.p99_ms:.1f} ms from schedule (p99 {st.from_send.p99_ms:.1f} from send); "
                f"delivery p50 {delivery.p50_ms:.1f} p99 {delivery.p99_ms:.1f} ms, "
                f"undelivered {missing}"
            )
            start += st.scheduled
            if st.achieved_rps < 0.9 * rate or fs.p99_ms > 2000 or st.dropped:
                log("  saturated: higher rates not attempted")
                break
    finally:
        for t in listeners:
            t.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)
    return {"senders": len(senders), "recipients": len(recipients), "steps": steps}


# ------------------------------------------------------------------ output


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()


def finish(bench: Bench, settings: Settings) -> None:
    from bench import report

    plan = bench.plan
    dirty = git("status", "--porcelain", "--", "api", "graph", "queries")
    one, five, fifteen = os.getloadavg()
    argv = " ".join(sys.argv[1:])
    results: dict[str, Any] = {
        "meta": {
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": f"python -m bench.run {argv}".strip(),
            "git_commit": git("rev-parse", "--short", "HEAD")
            + (" + uncommitted changes in api/graph/queries" if dirty else ""),
            "machine": {
                "cores": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
                "load_average_at_end": [round(one, 2), round(five, 2), round(fifteen, 2)],
            },
            "stack": {
                "neo4j_uri": settings.neo4j_uri,
                "redis_url": settings.redis_url,
                "neo4j_heap": settings.neo4j_heap,
                "neo4j_pagecache": settings.neo4j_pagecache,
            },
            "server": {
                "workers": plan.workers,
                "uvicorn": "--loop uvloop --http httptools --log-level warning --no-access-log",
                "env": SERVER_ENV,
            },
            "client": "bench.client (asyncio streams, HTTP/1.1 keep-alive) on uvloop, one process",
            "plan": asdict(plan),
            "sections": sorted(bench.sections),
        },
        **bench.out,
        "rows": [r.as_dict() for r in bench.rows],
    }
    results["ratios"] = report.ratios(results)
    results["targets"] = report.targets(results)
    out = bench.args.out
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    md = report.markdown(results)
    (out / "results.md").write_text(md)
    report.plot(results, out / "latency.png")
    print()
    print(md)
    log(f"wrote {out / 'results.json'}, {out / 'results.md'}, {out / 'latency.png'}")


if __name__ == "__main__":
    sys.exit(main())
