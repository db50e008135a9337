"""What the HTTP scenarios share: `Ctx` (the API's address, a connection pool, tokens, the
CPU meter, the bench Redis, the sampled users), `Side` and `run_sides` (A/B rounds at each
concurrency level with samples pooled), and the unrecorded loops `closed` (warm-ups) and
`fill` (every answer cached before a warm measurement)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.plan import SERVER_ENV, Plan
from bench.results import Bench, Row, log

if TYPE_CHECKING:
    import redis.asyncio as aioredis

    from bench.client import Pool
    from bench.cpu import CpuMeter
    from bench.fixtures import Tokens, User
    from bench.load import RequestFn
    from core.config import Settings


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


@contextlib.asynccontextmanager
async def api_under_test(
    bench: Bench,
    settings: Settings,
    people: dict[str, list[User]],
    tokens: Tokens,
    workers: int,
    pool_size: int,
    tmp: Path,
) -> AsyncIterator[Ctx]:
    """The API under measurement, on a flushed Redis (the bench stack's only: callers
    check), with the CPU meter on it, Neo4j and Redis, and a client pool; all closed after."""
    import redis.asyncio as aioredis

    from bench import client, cpu, servers
    from socialgraph.devstack import Neo4jServer, RedisServer

    redis = aioredis.Redis.from_url(settings.redis_url, decode_responses=True)
    await redis.flushdb()
    api = servers.Server("api", "api.main:app_factory", workers, SERVER_ENV, tmp)
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
    pool = client.Pool(servers.HOST, api.port, pool_size)
    try:
        yield Ctx(bench, settings, servers.HOST, api.port, pool, tokens, meter, redis, people, tmp)
    finally:
        await pool.close()
        api.stop()
        await redis.aclose()
