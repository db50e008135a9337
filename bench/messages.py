"""The message scenario: sends open loop at rising rates while the recipients hold
WebSockets, so each message's delivery is timed against its send."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import TYPE_CHECKING, Any

from bench.harness import Ctx, closed
from bench.results import log

if TYPE_CHECKING:
    from bench.fixtures import User


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
