"""Load loops and latency statistics.

* `closed_loop`: `concurrency` workers, each sending its next request as soon as the last
  one answered, until `max_requests` are done or `max_seconds` have passed (whichever
  first). Latency is per request; throughput is completed requests over the wall time.
* `open_loop`: requests start on a fixed schedule (`rate` per second) whether or not
  earlier ones have answered, for `seconds`; latency is measured from the *scheduled*
  start, so a server (or client) that falls behind shows it instead of hiding it
  (no coordinated omission). The latency from the actual start is kept too.

A request is a coroutine function `fn(i) -> bool` (True: the answer was the expected one);
an exception counts as an error. Both loops are bounded in count and time.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

RequestFn = Callable[[int], Awaitable[bool]]
MAX_ERROR_EXAMPLES = 3


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


@dataclass
class Recorder:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_kinds: Counter[str] = field(default_factory=Counter)
    # Request index -> latency (closed loop), so two sides can be compared on the same requests.
    by_index: dict[int, float] = field(default_factory=dict)

    def ok(self, seconds: float, index: int | None = None) -> None:
        self.latencies.append(seconds)
        if index is not None:
            self.by_index[index] = seconds

    def fail(self, what: str) -> None:
        self.errors += 1
        self.error_kinds[what[:160]] += 1


@dataclass(frozen=True)
class Stats:
    requests: int
    errors: int
    duration_s: float
    throughput_rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    error_examples: list[str]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def of(rec: Recorder, duration: float) -> Stats:
        lat = rec.latencies
        ms = [x * 1000 for x in lat]
        return Stats(
            requests=len(lat),
            errors=rec.errors,
            duration_s=round(duration, 3),
            throughput_rps=round(len(lat) / duration, 2) if duration > 0 else math.nan,
            p50_ms=round(percentile(ms, 0.50), 3),
            p95_ms=round(percentile(ms, 0.95), 3),
            p99_ms=round(percentile(ms, 0.99), 3),
            mean_ms=round(sum(ms) / len(ms), 3) if ms else math.nan,
            max_ms=round(max(ms), 3) if ms else math.nan,
            error_examples=[
                f"{n}x {k}" for k, n in rec.error_kinds.most_common(MAX_ERROR_EXAMPLES)
            ],
        )


def merge(parts: list[tuple[Recorder, float]]) -> tuple[Recorder, Stats]:
    """Pool the samples of several rounds of the same measurement (durations add up)."""
    rec = Recorder()
    total = 0.0
    for part, duration in parts:
        rec.latencies.extend(part.latencies)
        rec.by_index.update(part.by_index)
        rec.errors += part.errors
        rec.error_kinds.update(part.error_kinds)
        total += duration
    return rec, Stats.of(rec, total)


def paired(recs: list[Recorder]) -> list[Stats]:
    """Each side's statistics over only the requests (by index) that every side completed:
    when each request is a different user with its own cost, sides that finished different
    numbers of requests in their time budget are compared on the same users."""
    common = set(recs[0].by_index)
    for r in recs[1:]:
        common &= set(r.by_index)
    out = []
    for r in recs:
        lat = [r.by_index[i] for i in sorted(common)]
        out.append(Stats.of(Recorder(latencies=lat), sum(lat)))
    return out


async def _guarded(fn: RequestFn, i: int, rec: Recorder) -> float | None:
    start = time.perf_counter()
    try:
        ok = await fn(i)
    except Exception as exc:  # any failure is an error sample; the loop goes on
        rec.fail(f"{type(exc).__name__}: {exc}")
        return None
    elapsed = time.perf_counter() - start
    if ok:
        rec.ok(elapsed, i)
    else:
        rec.fail("unexpected answer")
    return elapsed


async def closed_loop(
    fn: RequestFn, concurrency: int, max_requests: int, max_seconds: float, start_index: int = 0
) -> tuple[Recorder, float]:
    """Returns the samples and the wall time. Request indexes are start_index, +1, ..."""
    rec = Recorder()
    next_i = start_index
    end_i = start_index + max_requests
    deadline = time.perf_counter() + max_seconds

    async def worker() -> None:
        nonlocal next_i
        while next_i < end_i and time.perf_counter() < deadline:
            i = next_i
            next_i += 1
            await _guarded(fn, i, rec)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return rec, time.perf_counter() - start


@dataclass(frozen=True)
class OpenLoopStats:
    offered_rps: float
    achieved_rps: float
    scheduled: int
    completed: int
    errors: int
    dropped: int
    from_schedule: Stats  # latency from the scheduled start (the honest figure)
    from_send: Stats  # latency from the moment the client actually started the request
    max_start_lag_ms: float  # how far the client itself fell behind its schedule

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def open_loop(
    fn: RequestFn, rate: float, seconds: float, max_in_flight: int, start_index: int = 0
) -> OpenLoopStats:
    """Start request i at t0 + i / rate. Requests that would exceed `max_in_flight` are not
    sent and are counted as dropped (the server is then far beyond saturation)."""
    scheduled = max(1, int(rate * seconds))
    sched_rec, send_rec = Recorder(), Recorder()
    in_flight: set[asyncio.Task[None]] = set()
    dropped = 0
    max_lag = 0.0
    last_done = 0.0

    async def one(i: int, due: float) -> None:
        nonlocal last_done
        sent = time.perf_counter()
        try:
            ok = await fn(start_index + i)
        except Exception as exc:  # counted; the schedule goes on
            sched_rec.fail(f"{type(exc).__name__}: {exc}")
            send_rec.fail(f"{type(exc).__name__}: {exc}")
            return
        done = time.perf_counter()
        last_done = max(last_done, done)
        if ok:
            sched_rec.ok(done - due)
            send_rec.ok(done - sent)
        else:
            sched_rec.fail("unexpected answer")
            send_rec.fail("unexpected answer")

    t0 = time.perf_counter() + 0.05
    i = 0
    while i < scheduled:
        now = time.perf_counter()
        due = t0 + i / rate
        if due > now:
            await asyncio.sleep(due - now)
            continue
        # Start everything that is due (the loop may wake late under load).
        while i < scheduled and t0 + i / rate <= now:
            due = t0 + i / rate
            max_lag = max(max_lag, now - due)
            if len(in_flight) >= max_in_flight:
                dropped += 1
            else:
                task = asyncio.create_task(one(i, due))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
            i += 1
    if in_flight:
        await asyncio.gather(*in_flight)
    elapsed = max(last_done - t0, 1e-9)
    completed = len(sched_rec.latencies)
    return OpenLoopStats(
        offered_rps=rate,
        achieved_rps=round(completed / max(elapsed, scheduled / rate), 2),
        scheduled=scheduled,
        completed=completed,
        errors=sched_rec.errors,
        dropped=dropped,
        from_schedule=Stats.of(sched_rec, elapsed),
        from_send=Stats.of(send_rec, elapsed),
        max_start_lag_ms=round(max_lag * 1000, 3),
    )
