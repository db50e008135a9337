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

Modules: bench/plan.py (stack environment, `Plan`, options), bench/dbchecks.py (graph
check and seeding, PROFILE, networkx), bench/harness.py (what the HTTP scenarios share),
bench/scenarios.py (suggestions, feeds, logins), bench/messages.py (sends and delivery),
bench/results.py (log, rows, result files); this module runs them in order.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from dataclasses import asdict
from typing import TYPE_CHECKING

from bench.dbchecks import networkx_baseline, profile_suggestions, seed_if_needed
from bench.harness import api_under_test, closed
from bench.messages import messages
from bench.plan import BENCH_ENV, parse_args, sg
from bench.results import Bench, finish, log
from bench.scenarios import feeds, logins, suggestions_cold, suggestions_warm

if TYPE_CHECKING:
    from bench.fixtures import User
    from core.config import Settings


def main(argv: list[str] | None = None) -> int:
    args, plan, sections = parse_args(argv, (__doc__ or "").splitlines()[0])

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
        bench.out["exclusions_in_graph"] = fixtures.read(driver, db, "bench.exclusion_counts")[0]
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


async def measure_all(
    bench: Bench, settings: Settings, people: dict[str, list[User]], passwords: dict[str, str]
) -> None:

    from bench import fixtures

    plan = bench.plan
    tmp = bench.args.out / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    tokens = fixtures.Tokens(settings)
    for group in people.values():  # issued up front: no JWT signing inside timed requests
        for u in group:
            tokens.bearer(u)
    # Redis is flushed: the bench stack's only (checked in main).
    async with api_under_test(bench, settings, people, tokens, plan.workers, 512, tmp) as ctx:
        log("warm-up: unrecorded suggestions and feeds for other users")
        for path in ("/v1/suggestions", "/v1/feed?order=recent", "/v1/feed?order=top"):
            await closed(ctx.each_user(path, people["warmup"]), 8, 40, plan.warmup_seconds)
        first = await ctx.pool.send(ctx.get("/v1/suggestions", people["warmup"][0]))
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


if __name__ == "__main__":
    sys.exit(main())
