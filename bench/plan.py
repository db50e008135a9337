"""What a benchmark run is: where it runs (the bench stack's environment, the results
directory, the project's CLI run against that stack), how big it is (`Plan`: graph size,
concurrency levels, send rates, phase lengths, sample sizes; the full plan and `--quick`),
and the command line that chooses them (`parse_args`)."""

from __future__ import annotations

import argparse
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

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
SERVER_ENV = {
    "SEND_RATE_PER_10S": "1000000000",
    "LOGIN_RATE_PER_MINUTE": "1000000000",
    "LOGIN_RATE_PER_IP_PER_MINUTE": "1000000000",  # every bench client is 127.0.0.1
}
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


def parse_args(
    argv: list[str] | None, description: str
) -> tuple[argparse.Namespace, Plan, set[str]]:
    """The options, the plan they give (full or quick, then overrides) and the sections to
    run. `args.out` is filled in with the default results directory when not given."""
    ap = argparse.ArgumentParser(description=description)
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
    return args, plan, sections


def sg(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """The project's CLI, with this process's environment (the bench stack)."""
    return subprocess.run(
        [str(REPO_ROOT / ".venv" / "bin" / "socialgraph"), *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=check,
    )
