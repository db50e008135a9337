"""The benchmark's checks on the database side, through the sync driver: whether the graph
is the planned one (else reseed it), PROFILE of the suggestion query on sampled users, and
the same suggestions computed by networkx in memory, compared with Cypher's answers."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from bench.plan import SUGGESTION_PARAMS, Plan, sg
from bench.results import Bench, log

if TYPE_CHECKING:
    from neo4j import Driver

    from bench.fixtures import User


def graph_matches(counts: dict[str, int], plan: Plan) -> bool:
    expected_edges = plan.users * plan.avg_degree / 2
    return (
        counts["users"] == plan.users
        and abs(counts["friendships"] - expected_edges) <= 0.05 * expected_edges
        and counts["posts"] > 0
    )


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


def profile_suggestions(bench: Bench, driver: Driver, db: str, users: list[User]) -> None:
    from bench import fixtures, profile
    from graph.recommend import HUB_DEGREE

    log(f"PROFILE recommend.adamic_adar on {len(users)} sampled users")
    profiles = []
    for u in users:
        params = {"user_id": u.id, "hub_degree": HUB_DEGREE, **SUGGESTION_PARAMS}
        p = profile.profile(driver, db, "recommend.adamic_adar", params)
        work = fixtures.read(
            driver, db, "bench.work_estimate", user_id=u.id, hub_degree=HUB_DEGREE
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
    from graph.db import SyncGraph
    from graph.queries import q
    from graph.recommend import HUB_DEGREE

    query = q("recommend.adamic_adar")
    out = {}
    for u in users:
        params: dict[str, Any] = {
            "user_id": u,
            "hub_degree": HUB_DEGREE,
            **SUGGESTION_PARAMS,
            "limit": 20,
        }
        items = SyncGraph(driver, db).read_page(query, **params)
        out[u] = [(r["user"]["id"], float(r["score"])) for r in items]
    return out
