"""The closed-loop HTTP scenarios against the API, each with its baseline: suggestions cold
(against the same Cypher through the async driver, plus an in-process breakdown) and warm
(against a bare FastAPI endpoint, plus a check of the load generator against httpx), feeds
cold and warm (`recent`, `top`), and logins. Message sends are in bench/messages.py."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from bench.harness import Ctx, Side, closed, fill, run_sides
from bench.plan import SUGGESTION_PARAMS, Plan
from bench.results import Row, log

if TYPE_CHECKING:
    from bench.fixtures import User
    from bench.load import RequestFn
    from core.config import Settings


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
    from api import schemas
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
            schemas.SuggestionPage.json_of(page)
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
