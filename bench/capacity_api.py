"""The capacity benchmark's HTTP side, on a seeded graph: CPU per request in the API
workers, Neo4j and Redis for each kind of request the plan counts, Redis memory per cache
entry of each kind (`MEMORY USAGE` on the entries those requests made), and Redis memory
per conversation and per message of the inbox (`INFO memory` deltas around real sends).

CPU comes from bench/cpu.py (process CPU time from /proc, far steadier than wall time on
the shared 2-core machine) through bench/harness.py's `run_sides`, one side per kind:

- `<kind>_warm`: a few users asked over and over, every answer cached beforehand;
- `<kind>_cold`: a distinct user per request, the kind's cache epoch bumped before the
  phase, so Neo4j computes every answer (the principal is uncached too: conservative);
- `send`: `POST /v1/messages` between users who accept messages from everyone;
- `login`: `POST /v1/auth/token` against real Argon2id hashes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import uuid
from collections.abc import Awaitable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.harness import Ctx, Side, api_under_test, closed, fill, run_sides
from bench.plan import Plan
from bench.results import Bench, Row, log

if TYPE_CHECKING:
    import redis.asyncio as aioredis

    from bench.fixtures import User
    from core.config import Settings

CACHE_KINDS = ("auth", "perm", "prof", "sugg", "feed")
CHAT_USERS = 100  # users who message each other
PARTNERS = 5  # each chat user opens conversations with the next 5: 500 conversations
MESSAGES_PER_PAIR = 10  # then sends this many more in each
SAMPLE_KEYS = 1_000
IDLE_SECONDS = 5.0  # MEMORY USAGE on at most this many entries per kind


async def used_memory(redis: aioredis.Redis) -> int:
    return int((await redis.info("memory"))["used_memory"])


async def keys_matching(redis: aioredis.Redis, pattern: str) -> list[str]:
    return [k async for k in redis.scan_iter(match=pattern, count=1_000)]


async def bytes_of(redis: aioredis.Redis, keys: list[str]) -> int:
    """MEMORY USAGE (every element counted: SAMPLES 0) summed over `keys`."""
    total = 0
    for k in keys:
        total += int(await redis.memory_usage(k, samples=0) or 0)
    return total


async def non_inbox_bytes(redis: aioredis.Redis) -> int:
    """Keys a send also writes that are not the inbox: cache entries (principal,
    permission), version counters and rate-limit windows. Subtracted from INFO deltas."""
    from redislayer import rkeys

    total = 0
    rate_windows = rkeys.rate("*", "*", 0).rsplit(":", 1)[0] + ":*"
    for pattern in (rkeys.cached("*", "*"), rkeys.version("*", "*"), rate_windows):
        total += await bytes_of(redis, await keys_matching(redis, pattern))
    return total


async def inbox_key_bytes(redis: aioredis.Redis) -> int:
    """MEMORY USAGE summed over every key that is not a cache entry, counter or
    rate-limit window: the inbox (a cross-check of the INFO deltas)."""
    everything = await bytes_of(redis, await keys_matching(redis, "*"))
    return everything - await non_inbox_bytes(redis)


async def cache_entry_sizes(
    redis: aioredis.Redis, kinds: tuple[str, ...]
) -> dict[str, dict[str, float]]:
    from redislayer import rkeys

    out: dict[str, dict[str, float]] = {}
    for kind in kinds:
        keys = [
            k
            for k in await keys_matching(redis, rkeys.cached(kind, "*"))
            if not k.endswith(":lock")
        ]
        sizes = [int(await redis.memory_usage(k, samples=0) or 0) for k in keys[:SAMPLE_KEYS]]
        out[kind] = {
            "entries": len(keys),
            "measured": len(sizes),
            "mean_bytes": round(statistics.fmean(sizes), 1) if sizes else 0.0,
            "p50_bytes": float(statistics.median(sizes)) if sizes else 0.0,
            "max_bytes": float(max(sizes)) if sizes else 0.0,
        }
        log(
            f"  cache {kind:<4}: {len(keys):5d} entries, MEMORY USAGE mean "
            f"{out[kind]['mean_bytes']:,.0f} B (p50 {out[kind]['p50_bytes']:,.0f}, "
            f"max {out[kind]['max_bytes']:,.0f})"
        )
    return out


async def measure(
    settings: Settings, users_in_graph: int, workers: int, concurrency: int, tmp: Path
) -> dict[str, Any]:
    """Everything HTTP-side at one graph size (the graph is seeded; Redis may hold
    anything: it is flushed first)."""

    from bench import fixtures
    from graph.db import open_sync_driver

    plan = Plan(
        users=users_in_graph,
        levels=(concurrency,),
        rounds=1,
        login_levels=(2,),
        login_requests=120,  # each costs ~30 ms of CPU: enough to dwarf background work
        login_users=4,
    )
    sizes = {
        "cold": 1_200,
        "warm": 40,
        "warmup": 600,
        "senders": CHAT_USERS,
        "recipients": 0,
        "logins": plan.login_users,
    }
    driver = open_sync_driver(settings)
    try:
        db = settings.neo4j_database
        cohorts = fixtures.sample_cohorts(users_in_graph, 43, sizes)
        people = {name: fixtures.users(driver, db, ids) for name, ids in asdict(cohorts).items()}
        fixtures.open_inboxes(driver, db, [u.id for u in people["senders"]])
        passwords = fixtures.set_passwords(driver, db, people["logins"])
    finally:
        driver.close()

    bench = Bench(plan, argparse.Namespace(), set())
    tokens = fixtures.Tokens(settings)
    # Redis is flushed: the stack was reset for this run (bench/capacity.py).
    async with api_under_test(bench, settings, people, tokens, workers, 64, tmp) as ctx:
        redis, meter = ctx.redis, ctx.meter
        # What the servers burn doing nothing (Neo4j's background jobs after a restart,
        # the workers' pub/sub loops): it lands in every phase's figures, most in short ones.
        meter.start()
        await asyncio.sleep(IDLE_SECONDS)
        idle = meter.stop()
        await closed_loops(ctx, concurrency, passwords)
        # Permission entries are made by sends: measured after the inbox phases.
        cache = await cache_entry_sizes(redis, tuple(k for k in CACHE_KINDS if k != "perm"))
        # Entries expiring during the inbox phases would move INFO used_memory: drop them.
        from redislayer import rkeys

        for pattern in (rkeys.cached("*", "*"), rkeys.version("*", "*")):
            if keys := await keys_matching(redis, pattern):
                await redis.delete(*keys)
        inbox = await inbox_memory(ctx, concurrency)
        cache.update(await cache_entry_sizes(redis, ("perm",)))
        info = await redis.info("memory")
    cpu_rows = {f"{r.endpoint}_{r.variant}": r.as_dict() for r in bench.rows}
    return {
        "workers": workers,
        "concurrency": concurrency,
        "cpu": cpu_rows,
        "idle_cpu_cores": {
            k: round(idle[k] / idle["wall"], 3) for k in ("api", "neo4j", "redis", "others")
        },
        "cache_entries": cache,
        "inbox": inbox,
        "redis_used_memory_end": int(info["used_memory"]),
    }


def profile_requests(ctx: Ctx, viewers: list[User], targets: list[User]) -> list[bytes]:
    return [ctx.get(f"/v1/users/{t.id}", v) for v, t in zip(viewers, targets, strict=True)]


async def closed_loops(ctx: Ctx, concurrency: int, passwords: dict[str, str]) -> None:
    from bench.scenarios import logins

    cold, warm, warmup = ctx.people["cold"], ctx.people["warm"], ctx.people["warmup"]
    c = (concurrency,)
    log("  warm-up: suggestions, feeds and profiles for other users (the JVM after a restart)")
    for path in ("/v1/suggestions", "/v1/feed?order=recent"):
        await closed(ctx.each_user(path, warmup), concurrency, len(warmup), 30.0)
    await closed(
        ctx.replay(profile_requests(ctx, warmup, warmup[1:] + warmup[:1])), concurrency, 300, 10.0
    )
    # Cold users are split between the kinds: no user's principal is cached by an earlier one.
    n = len(cold) // 3
    groups = {"suggestions": cold[:n], "feed": cold[n : 2 * n], "profile": cold[2 * n :]}
    paths = {"suggestions": "/v1/suggestions", "feed": "/v1/feed?order=recent"}
    epochs = {"suggestions": "sugg", "feed": "feed"}
    for kind in ("suggestions", "feed", "profile"):
        if kind == "profile":
            targets = (warm * (n // len(warm) + 1))[: len(groups[kind])]
            cold_reqs = profile_requests(ctx, groups[kind], targets)
            warm_reqs = profile_requests(ctx, warm, warm[1:] + warm[:1])
        else:
            cold_reqs = [ctx.get(paths[kind], u) for u in groups[kind]]
            warm_reqs = [ctx.get(paths[kind], u) for u in warm]
        warm_fn = ctx.replay(warm_reqs)
        await fill(warm_fn, len(warm_reqs))

        async def rewarm(fn: Any = warm_fn, k: int = len(warm_reqs)) -> None:
            await fill(fn, k)

        bump = ctx.bumper(epochs[kind]) if kind in epochs else None
        await run_sides(
            ctx.bench, ctx.meter, [Side(kind, "warm", warm_fn, rewarm, 3_000, 8.0)], c, 1
        )
        await run_sides(
            ctx.bench, ctx.meter, [Side(kind, "cold", ctx.replay(cold_reqs), bump, n, 40.0)], c, 1
        )
    await logins(ctx, passwords)


async def inbox_memory(ctx: Ctx, concurrency: int) -> dict[str, Any]:
    """Conversations, then messages, through the API; INFO used_memory before and after
    each phase, less what the sends wrote outside the inbox (cache entries, counters,
    rate-limit windows). Then the idempotency records are deleted to see what their
    expiry (25 h) frees. The message phase is also the send CPU measurement."""
    from bench import client, load
    from redislayer import rkeys

    chat = ctx.people["senders"]
    pairs = [(chat[i], chat[(i + j) % len(chat)]) for i in range(len(chat)) for j in range(1, 6)]
    tag = uuid.uuid4().hex[:8]

    def request(i: int) -> bytes:
        s, r = pairs[i % len(pairs)]
        body = json.dumps({"to": r.id, "text": f"capacity {tag} message {i:06d}"}).encode()
        headers = {
            "Authorization": ctx.tokens.bearer(s),
            "Content-Type": "application/json",
            "Idempotency-Key": f"cap-{tag}-{i}",
        }
        return client.build_request("POST", "/v1/messages", ctx.host, ctx.port, headers, body)

    def send(i: int) -> Awaitable[bool]:
        return ctx.expect(request(i), 201)

    redis = ctx.redis
    log(
        f"  inbox: {len(pairs)} conversations among {len(chat)} users, then "
        f"{MESSAGES_PER_PAIR} messages in each"
    )
    mem0, other0 = await used_memory(redis), await non_inbox_bytes(redis)
    rec, _ = await load.closed_loop(send, concurrency, len(pairs), 300.0)
    if rec.errors or len(rec.latencies) != len(pairs):
        raise RuntimeError(f"conversation phase: {dict(rec.error_kinds)}")
    mem1, other1 = await used_memory(redis), await non_inbox_bytes(redis)
    keys1 = await inbox_key_bytes(redis)
    messages = len(pairs) * MESSAGES_PER_PAIR
    ctx.meter.start()
    rec, dur = await load.closed_loop(send, concurrency, messages, 600.0, start_index=len(pairs))
    used = ctx.meter.stop()
    if rec.errors or len(rec.latencies) != messages:
        raise RuntimeError(f"message phase: {dict(rec.error_kinds)}")
    ctx.bench.record(Row("send", "api", concurrency, load.Stats.of(rec, dur).as_dict(), used))
    mem2, other2 = await used_memory(redis), await non_inbox_bytes(redis)
    keys2 = await inbox_key_bytes(redis)
    idem = await keys_matching(redis, rkeys.idempotency("*", "*", "*"))
    idem += await keys_matching(redis, rkeys.idempotency_index("*"))
    await redis.delete(*idem)
    mem3, other3 = await used_memory(redis), await non_inbox_bytes(redis)
    sent = len(pairs) + messages
    phase2 = (mem2 - mem1) - (other2 - other1)
    per_message = phase2 / messages
    phase1 = (mem1 - mem0) - (other1 - other0)
    per_conversation = (phase1 - len(pairs) * per_message) / len(pairs)
    idem_per_message = ((mem2 - mem3) - (other2 - other3)) / sent
    out = {
        "chat_users": len(chat),
        "conversations": len(pairs),
        "conversations_per_user": 2 * PARTNERS,
        "messages_phase2": messages,
        "used_memory": [mem0, mem1, mem2, mem3],
        "non_inbox_key_bytes": [other0, other1, other2, other3],
        # The same phases by MEMORY USAGE of the inbox's keys (no allocator overhead).
        "inbox_key_bytes": [keys1, keys2],
        "message_bytes_by_memory_usage": round((keys2 - keys1) / messages, 1),
        "conversation_bytes": round(per_conversation, 1),
        "message_bytes_with_idempotency": round(per_message, 1),
        "idempotency_bytes_per_message": round(idem_per_message, 1),
        "message_bytes": round(per_message - idem_per_message, 1),
    }
    log(
        f"  inbox: {per_conversation:,.0f} B per conversation, {per_message:,.0f} B per message "
        f"({idem_per_message:,.0f} B of it the idempotency record, freed after 25 h)"
    )
    return out
