"""The capacity plan: measure what one user costs here, then scale it to 1 M, 10 M, 100 M.

    .venv/bin/python -m bench.capacity measure [--sizes 20000,50000] [--avg-degree 20]
                                               [--workers 2] [--concurrency 4] [--out F] [--yes]
    .venv/bin/python -m bench.capacity plan [--in F] [--users 1e6,1e7,1e8]
                                            [--set NAME=VALUE ...] [--md F]

`measure` RESETS THE STACK IT RUNS AGAINST (`socialgraph dev reset`: its state directory
is deleted) once per size, so it refuses the dev and test stacks unless given `--yes`
(as bench/run.py: their ports, or a state dir not named `bench*`). Per graph size it
grows the synthetic seed's graph one kind of item at a time and measures the stopped store
(bench/capacity_store.py), then starts the API and measures CPU per request and Redis
memory per cache entry and per conversation and message (bench/capacity_api.py). At the
end it fits per-item figures across the sizes (`fit`) and writes one JSON file
(default bench/results/capacity.json) with every raw figure, the fitted ones, the command,
the commit and the date.

`plan` reads that JSON and the assumptions (bench/capacity_plan.py `Assumptions`; any of
them overridden with `--set`, e.g. `--set daily_active_share=0.1 --set per_day.send=50`)
and prints the measured figures it uses, the assumptions, the plan per user count and the
user count at which each resource outgrows one machine; `--md` writes the same as markdown
(default bench/results/capacity_plan.md).
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.capacity_plan import (
    Assumptions,
    Measured,
    human_users,
    limits,
    plan_for,
    plan_table,
)
from bench.plan import REPO_ROOT, RESULTS
from bench.results import git, log

DEFAULT_JSON = RESULTS / "capacity.json"
DEFAULT_MD = RESULTS / "capacity_plan.md"
ITEM_OF_STAGE = {
    "users": "user",
    "friendships": "friendship",
    "posts": "post",
    "likes": "like",
    "comments": "comment",
}
CPU_KINDS = (
    "suggestions_warm",
    "suggestions_cold",
    "feed_warm",
    "feed_cold",
    "profile_warm",
    "profile_cold",
    "send_api",
    "login_argon2id",
)


def fit(sizes: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-item store bytes as the slope between the smallest and the largest size: the
    growth of each step (used bytes after it minus before it) against the items it added.
    With one size, the growth over the items. Everything else from the largest size."""
    from redislayer.cachepolicy import POLICIES

    def growth(size: dict[str, Any]) -> dict[str, tuple[float, float]]:
        stages = size["store"]
        out = {}
        for before, after in itertools.pairwise(stages):
            name = after["stage"]
            added = after["counts"][name] - before["counts"][name]
            out[ITEM_OF_STAGE[name]] = (after["bytes"]["used"] - before["bytes"]["used"], added)
        return out

    small, large = sizes[0], sizes[-1]
    g_small, g_large = growth(small), growth(large)
    per_item = {}
    for item, (grew, added) in g_large.items():
        s_grew, s_added = g_small[item]
        per_item[item] = (
            (grew - s_grew) / (added - s_added)
            if len(sizes) > 1 and added != s_added
            else grew / added
        )
    last = large["store"][-1]["counts"]
    n_users = last["users"]
    api = large["api"]
    cpu = {}
    for kind in CPU_KINDS:
        per = api["cpu"][kind]["cpu_ms_per_request"]
        name = kind.removesuffix("_api").removesuffix("_argon2id")
        cpu[name] = {"api": per["api"], "neo4j": per["neo4j"], "redis": per["redis"]}
    return {
        "from_sizes": [s["users"] for s in sizes],
        "store_base_bytes": large["store"][0]["bytes"]["used"],
        "store_bytes_per": {k: round(v, 1) for k, v in per_item.items()},
        "mix_per_user": {
            k: round(last[k] / n_users, 3) for k in ("friendships", "posts", "likes", "comments")
        },
        "cache_entry_bytes": {k: v["mean_bytes"] for k, v in api["cache_entries"].items()},
        "cache_ttl_s": {k: POLICIES[k].ttl for k in api["cache_entries"]},
        "inbox": {
            k: api["inbox"][k]
            for k in ("conversation_bytes", "message_bytes", "idempotency_bytes_per_message")
        },
        "cpu_ms": cpu,
    }


def measure(args: argparse.Namespace) -> int:
    logging.getLogger("neo4j").setLevel(logging.ERROR)
    import uvloop

    from bench import capacity_api, capacity_store, fixtures
    from core.config import get_settings
    from socialgraph import devstack

    settings = get_settings()
    if settings.env == "production":
        print("error: refusing SOCIALGRAPH_ENV=production", file=sys.stderr)
        return 2
    try:
        fixtures.check_bench_stack(settings, args.yes)
    except fixtures.NotBenchStack as exc:
        print(f"error: {exc} (this command also deletes the stack's state dir)", file=sys.stderr)
        return 2
    sizes = [int(x) for x in args.sizes.split(",")]
    doc: dict[str, Any] = {
        "meta": {
            "command": args.command,
            "git_commit": git("rev-parse", "--short", "HEAD"),
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"cores": os.cpu_count()},
            "stack": {
                "neo4j_uri": settings.neo4j_uri,
                "redis_url": settings.redis_url,
                "neo4j_heap": settings.neo4j_heap,
                "neo4j_pagecache": settings.neo4j_pagecache,
            },
            "seed": f"seed synthetic --avg-degree {args.avg_degree:g} --seed 42 (staged)",
        },
        "sizes": [],
    }
    tmp = args.out.parent / "tmp" / "capacity"
    tmp.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    try:
        for n in sizes:
            log(f"size {n:,} users: reset and start the stack ({settings.state_dir})")
            devstack.reset(settings)
            devstack.up(settings)
            store = capacity_store.grow_and_measure(settings, n, args.avg_degree)
            api = uvloop.run(capacity_api.measure(settings, n, args.workers, args.concurrency, tmp))
            doc["sizes"].append({"users": n, "store": store, "api": api})
            doc["fitted"] = fit(doc["sizes"])
            doc["meta"]["wall_seconds"] = round(time.time() - t0, 1)
            args.out.write_text(json.dumps(doc, indent=1) + "\n")
            log(f"wrote {args.out}")
    finally:
        if not args.keep_stack:
            devstack.down(settings)
    print(json.dumps(doc["fitted"], indent=1))
    return 0


def set_assumption(a: Assumptions, spec: str) -> Assumptions:
    """`name=value` or `dict_name.key=value` (e.g. `per_day.send=50`)."""
    name, _, raw = spec.partition("=")
    value = float(raw)
    if "." in name:
        outer, key = name.split(".", 1)
        current = getattr(a, outer)
        if not isinstance(current, dict) or key not in current:
            raise ValueError(f"unknown assumption {name!r}")
        changed: dict[str, Any] = {outer: {**current, key: value}}
        return replace(a, **changed)
    if not hasattr(a, name) or isinstance(getattr(a, name), dict):
        raise ValueError(f"unknown assumption {name!r}")
    scalar: dict[str, Any] = {name: value}
    return replace(a, **scalar)


def report(doc: dict[str, Any], a: Assumptions, user_counts: list[float]) -> list[str]:
    m = Measured.from_json(doc)
    meta = doc["meta"]
    lines = [
        f"Measured by `{meta['command']}` at commit {meta['git_commit']}, "
        f"{meta['started_at']}, graph sizes {doc['fitted']['from_sizes']} users "
        f"({meta['seed']}); figures below from `{DEFAULT_JSON.relative_to(REPO_ROOT)}`.",
        "",
        "Measured figures the plan uses:",
        "",
        "| figure | value |",
        "|---|--:|",
        f"| Neo4j empty store (schema only) | {m.store_base_bytes / 1e6:,.1f} MB |",
    ]
    for item, b in m.store_bytes_per.items():
        lines.append(f"| Neo4j store bytes per {item} | {b:,.0f} |")
    for item, v in m.mix_per_user.items():
        lines.append(f"| {item} per user (the seed's mix) | {v:g} |")
    for kind, b in m.cache_entry_bytes.items():
        lines.append(
            f"| Redis bytes per `{kind}` cache entry (TTL {m.cache_ttl_s[kind]:g} s) | {b:,.0f} |"
        )
    lines += [
        f"| Redis bytes per conversation | {m.inbox_conversation_bytes:,.0f} |",
        f"| Redis bytes per message kept | {m.inbox_message_bytes:,.0f} |",
        "| Redis bytes per message's idempotency record (25 h) | "
        f"{m.inbox_idempotency_bytes:,.0f} |",
    ]
    for kind, c in m.cpu_ms.items():
        lines.append(
            f"| CPU ms per `{kind}` request: API / Neo4j / Redis | "
            f"{c.api:.2f} / {c.neo4j:.2f} / {c.redis:.2f} |"
        )
    lines += ["", *size_table(doc)]
    lines += ["", "Assumptions (`--set NAME=VALUE` to change one):", ""]
    lines += ["| assumption | value |", "|---|---|"]
    lines += [f"| `{name}` | {value} |" for name, value in a.describe()]
    lines += ["", "Plan:", ""]
    lines += plan_table([plan_for(u, m, a) for u in user_counts])
    lines += ["", "Which limit comes first (users at which one machine is outgrown):", ""]
    lines += ["| resource | one machine | outgrown at |", "|---|---|--:|"]
    lines += [
        f"| {lim.resource} | {lim.one_machine} | {human_users(lim.users)} users |"
        for lim in limits(m, a)
    ]
    return lines


def size_table(doc: dict[str, Any]) -> list[str]:
    """CPU per request at each measured size (the plan uses the largest): whether a figure
    moves with the graph's size, and how busy the machine was meanwhile."""
    sizes = doc["sizes"]
    lines = [
        "CPU ms per request at each graph size, API / Neo4j / Redis (the plan uses the last "
        'column); "others": cores used by processes outside the measurement meanwhile:',
        "",
        "| request | " + " | ".join(f"{s['users']:,} users" for s in sizes) + " |",
        "|---|" + "--:|" * len(sizes),
    ]
    for kind in CPU_KINDS:
        cells = []
        for s in sizes:
            row = s["api"]["cpu"][kind]
            c = row["cpu_ms_per_request"]
            cells.append(
                f"{c['api']:.2f} / {c['neo4j']:.2f} / {c['redis']:.2f} "
                f"(n={row['requests']:,}, others {row['others_cpu_cores']:.2f})"
            )
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    idle = [s["api"].get("idle_cpu_cores") for s in sizes]
    if all(idle):
        lines.append(
            "| idle cores, API / Neo4j / Redis | "
            + " | ".join(f"{i['api']:.3f} / {i['neo4j']:.3f} / {i['redis']:.3f}" for i in idle)
            + " |"
        )
    return lines


def plan(args: argparse.Namespace) -> int:
    doc = json.loads(args.input.read_text())
    a = Assumptions()
    for spec in args.set or []:
        a = set_assumption(a, spec)
    counts = [float(x) for x in args.users.split(",")]
    lines = report(doc, a, counts)
    print("\n".join(lines))
    if args.md:
        args.md.write_text(
            f"<!-- generated by `{args.command}` "
            "from the JSON named below; do not edit -->\n\n" + "\n".join(lines) + "\n"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("measure", help="measure on the stack of this environment (resets it)")
    m.add_argument("--sizes", default="20000,50000", help="graph sizes in users")
    m.add_argument("--avg-degree", type=float, default=20.0)
    m.add_argument("--workers", type=int, default=2, help="uvicorn workers of the API")
    m.add_argument("--concurrency", type=int, default=4, help="closed-loop clients")
    m.add_argument("--out", type=Path, default=DEFAULT_JSON)
    m.add_argument("--keep-stack", action="store_true", help="leave the stack running")
    m.add_argument("--yes", action="store_true", help="allow a stack that is not a bench stack")
    p = sub.add_parser("plan", help="the plan from a measurement and the assumptions")
    p.add_argument("--in", dest="input", type=Path, default=DEFAULT_JSON)
    p.add_argument("--users", default="1e6,1e7,1e8")
    p.add_argument("--set", action="append", metavar="NAME=VALUE")
    p.add_argument("--md", type=Path, default=None, help=f"also write markdown (e.g. {DEFAULT_MD})")
    args = ap.parse_args(argv)
    args.command = "python -m bench.capacity " + " ".join(sys.argv[1:] if argv is None else argv)
    return measure(args) if args.cmd == "measure" else plan(args)


if __name__ == "__main__":
    sys.exit(main())
