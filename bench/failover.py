"""Failover without losing acknowledged messages (issue 14, docs/failover.md).

`python -m bench.failover` starts (or uses) the local Redis Cluster (3 primaries, 3
replicas, AOF, `REDIS_CLUSTER_NODE_TIMEOUT_MS`, default 1000 here) and the test stack's
Neo4j, then runs the same scenario twice, durable sends off and on, each against its own
API process (uvicorn, `REDIS_CLUSTER=1`):

1. two new users become friends (through the API);
2. `--sends` messages (default 1,000, `--text-bytes` each) go from one to the other in one
   conversation at a steady `--rate`, each with its own Idempotency-Key; a send answered
   503 (or not answered) is retried with the same key every `--retry-every` seconds for at
   most `--give-up` seconds;
3. after `--kill-at` of the sends were started, the primary that holds the conversation's
   slot `{c:<conv>}` is SIGKILLed (optionally after its replica was held back
   `--replica-lag-ms` with SIGSTOP: a lagging replica); its replica takes over;
4. afterwards the conversation is read back through the API, and the killed node is
   started again (it rejoins as a replica) before the next run.

Reported per run: acknowledged, lost (acknowledged but absent from the conversation),
duplicated (a text stored more than once), 5xx other than 503, the number of 503s, sends
never acknowledged, and the time without a primary for the slot as the client saw it
(the first failed try after the kill to the first acknowledgement of a try started after
that failure), beside the promotion time seen from the cluster. Results go to
bench/results/failover.json and failover.md (or `--out`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import redis

from bench import servers
from core.config import Settings
from redislayer import rkeys
from socialgraph import devstack
from socialgraph.devstack.redis_cluster import RedisCluster

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = REPO_ROOT / "bench" / "results"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


@dataclass
class Scenario:
    sends: int = 1000
    rate: float = 100.0  # sends started per second
    kill_at: float = 0.4  # fraction of the sends started before the SIGKILL
    text_bytes: int = 100
    retry_every: float = 0.1  # s between tries of one send
    give_up: float = 15.0  # s after its first try, a send counts as never acknowledged
    replica_lag_ms: int = 0  # hold the replica back (SIGSTOP) this long before the kill
    # While the replica is held, write this many bytes to the victim first (one value in the
    # conversation's slot): loopback's socket buffers take a few MB, so a held replica alone
    # still receives everything after SIGCONT. Past them the replication stream waits in the
    # primary's memory, which the SIGKILL loses: a replica that really lags.
    lag_bytes: int = 0
    # A supervisor restarts the killed node after this long (it rejoins as a replica):
    # until then the promoted primary has no replica, and durable sends to it wait.
    restart_after: float = 3.0
    warmup: int = 20  # sends before the measured ones (same conversation, not counted)


@dataclass
class Outcome:
    durable: bool
    sends: int
    acknowledged: int = 0
    lost: int = 0
    duplicated: int = 0
    other_5xx: int = 0
    status_503: int = 0
    not_acknowledged: int = 0
    transport_errors: int = 0
    no_primary_s: float | None = None
    stored: int = 0
    killed: str = ""
    promoted_after_s: float | None = None
    api_answers_after: bool = False
    statuses: dict[str, int] = field(default_factory=dict)
    lost_seqs: list[int] = field(default_factory=list)


def cluster_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"redis_cluster": True})


def slot_owner(settings: Settings, key: str) -> int:
    """The port of the primary that holds `key`'s slot now."""
    with redis.RedisCluster.from_url(
        settings.redis_cluster_seed_url, decode_responses=True, socket_timeout=2
    ) as rc:
        node = rc.get_node_from_key(key)
        assert node is not None and node.port is not None
        return int(node.port)


def replica_of(primary_port: int) -> int:
    with redis.Redis(port=primary_port, decode_responses=True, socket_timeout=2) as r:
        info = r.info("replication")
    return int(info["slave0"]["port"])


def is_primary(port: int) -> bool:
    try:
        with redis.Redis(port=port, decode_responses=True, socket_timeout=1) as r:
            return bool(r.info("replication").get("role") == "master")
    except redis.RedisError:
        return False


async def make_friends(http: httpx.AsyncClient) -> tuple[dict[str, str], dict[str, str], str]:
    """Two new users who are friends: (sender headers, recipient headers, recipient id)."""
    people = []
    for who in ("a", "b"):
        handle = f"fo{who}{uuid.uuid4().hex[:10]}"
        password = uuid.uuid4().hex
        r = await http.post("/v1/users", json={"handle": handle, "password": password})
        r.raise_for_status()
        uid = r.json()["id"]
        t = await http.post("/v1/auth/token", data={"username": handle, "password": password})
        t.raise_for_status()
        people.append((uid, {"Authorization": f"Bearer {t.json()['access_token']}"}))
    (a_id, a), (b_id, b) = people
    r = await http.post("/v1/friend-requests", json={"user_id": b_id}, headers=a)
    r.raise_for_status()
    r = await http.post(f"/v1/friend-requests/{a_id}/accept", headers=b)
    r.raise_for_status()
    return a, b, b_id


async def read_conversation(
    http: httpx.AsyncClient, me: dict[str, str], other: str, deadline: float
) -> list[str]:
    """Every text of the conversation, through the API (retried while it answers 503)."""
    texts: list[str] = []
    before: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 100} | ({"before": before} if before else {})
        while True:
            try:
                r = await http.get(f"/v1/conversations/{other}/messages", params=params, headers=me)
                if r.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the API did not answer the history read after the failover")
            await asyncio.sleep(0.2)
        page = r.json()
        texts += [m["text"] for m in page["items"]]
        before = page["older_cursor"]
        if not before:
            return texts


async def run_once(settings: Settings, scenario: Scenario, durable: bool) -> Outcome:
    out = Outcome(durable=durable, sends=scenario.sends)
    env = {
        "REDIS_CLUSTER": "1",
        "REDIS_CLUSTER_PORT": str(settings.redis_cluster_port),
        "REDIS_DURABLE_SENDS": "1" if durable else "0",
        "SEND_RATE_PER_10S": str(scenario.sends * 100),
        "REGISTER_RATE_PER_IP_PER_HOUR": "100000",
        "NEO4J_URI": settings.neo4j_uri,
        "REDIS_URL": settings.redis_url,
        "SOCIALGRAPH_STATE_DIR": str(settings.state_dir),
        "SOCIALGRAPH_ENV": settings.env,
    }
    tag = uuid.uuid4().hex[:8]
    pad = "x" * max(0, scenario.text_bytes - len(f"fo {tag} 0000 "))
    api = servers.Server("failover-api", "api.main:app_factory", 1, env, settings.state_dir)
    api.start("/healthz", timeout=60)
    try:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        url = f"http://{servers.HOST}:{api.port}"
        async with httpx.AsyncClient(base_url=url, timeout=10, limits=limits) as http:
            a, b, b_id = await make_friends(http)
            a_id = (await http.get("/v1/users/me", headers=a)).json()["id"]
            conv = rkeys.conversation_id(a_id, b_id)
            victim = slot_owner(settings, rkeys.conv_stream(conv))
            replica = replica_of(victim)
            out.killed = f"127.0.0.1:{victim}"
            for i in range(scenario.warmup):
                r = await http.post(
                    "/v1/messages",
                    json={"to": b_id, "text": f"warm {tag} {i}"},
                    headers={**a, "Idempotency-Key": f"fo-{tag}-warm-{i}"},
                )
                r.raise_for_status()
            acked: dict[int, str] = {}
            failures: list[float] = []  # when a try failed
            successes: list[tuple[float, float]] = []  # (try started, acknowledged)
            statuses: dict[str, int] = {}

            async def send(seq: int) -> None:
                key = f"fo-{tag}-{seq}"
                body = {"to": b_id, "text": f"fo {tag} {seq:04d} {pad}"}
                first = time.monotonic()
                while True:
                    tried = time.monotonic()
                    try:
                        r = await http.post(
                            "/v1/messages", json=body, headers={**a, "Idempotency-Key": key}
                        )
                        status = str(r.status_code)
                    except httpx.HTTPError as exc:
                        status = type(exc).__name__
                        out.transport_errors += 1
                    statuses[status] = statuses.get(status, 0) + 1
                    now = time.monotonic()
                    if status in ("200", "201"):
                        acked[seq] = r.json()["id"]
                        successes.append((tried, now))
                        return
                    failures.append(now)
                    if status == "503":
                        out.status_503 += 1
                    elif status.isdigit() and int(status) >= 500:
                        out.other_5xx += 1
                    if now - first > scenario.give_up:
                        return
                    await asyncio.sleep(scenario.retry_every)

            kill_seq = int(scenario.sends * scenario.kill_at)
            hold_seq = max(0, kill_seq - int(scenario.replica_lag_ms / 1000 * scenario.rate))
            held: int | None = None
            tasks = []
            start = time.monotonic()
            promoted: asyncio.Task[float | None] | None = None
            killed_at = float("inf")
            restarted: asyncio.Task[None] | None = None
            for seq in range(scenario.sends):
                await asyncio.sleep(max(0.0, start + seq / scenario.rate - time.monotonic()))
                if seq == hold_seq and scenario.replica_lag_ms:
                    # Sends go on while the replica is held: they are what a lagging
                    # replica can lose.
                    held = await hold(
                        settings,
                        victim,
                        replica,
                        filler=(rkeys.conv_stream(conv) + ":bench-filler", scenario.lag_bytes),
                    )
                if seq == kill_seq:
                    killed_at = kill(settings, victim, held)
                    log(f"SIGKILLed the primary {out.killed} after {seq} sends started")
                    promoted = asyncio.create_task(wait_promoted(replica, killed_at))
                    restarted = asyncio.create_task(restart_later(settings, scenario.restart_after))
                tasks.append(asyncio.create_task(send(seq)))
            await asyncio.gather(*tasks)
            if restarted is not None:
                await restarted
            texts = await read_conversation(http, b, a_id, time.monotonic() + 60)
            out.promoted_after_s = await promoted if promoted is not None else None
            out.api_answers_after = True
    finally:
        api.stop()

    seqs = [int(t.split()[2]) for t in texts if t.startswith(f"fo {tag} ")]
    out.stored = len(seqs)
    out.acknowledged = len(acked)
    out.not_acknowledged = scenario.sends - len(acked)
    out.lost_seqs = sorted(set(acked) - set(seqs))
    out.lost = len(out.lost_seqs)
    out.duplicated = len(seqs) - len(set(seqs))
    out.statuses = dict(sorted(statuses.items()))
    # From the first failed try after the kill to the first acknowledgement of a try started
    # after that failure (so served by the promoted replica, not in flight before).
    failed = [t for t in failures if t >= killed_at]
    if failed:
        served = [done for tried, done in successes if tried >= failed[0]]
        out.no_primary_s = round(min(served) - failed[0], 3) if served else None
    return out


async def hold(settings: Settings, port: int, replica: int, filler: tuple[str, int]) -> int:
    """Hold the replica of the node on `port` back (SIGSTOP) and write `filler` = (key, bytes)
    to the node so its replication stream backs up; returns the held pid."""
    held = RedisCluster(settings).node(replica).pid()
    assert held is not None, f"no replica on {replica}"
    os.kill(held, signal.SIGSTOP)
    key, size = filler
    if size:
        await asyncio.to_thread(write_filler, port, key, size)
    return held


def kill(settings: Settings, port: int, held: int | None) -> float:
    """SIGKILL the cluster node on `port`, then let its held replica (if any) go on;
    returns the monotonic time of the kill."""
    RedisCluster(settings).node(port).kill()
    killed_at = time.monotonic()
    if held is not None:
        os.kill(held, signal.SIGCONT)
    return killed_at


def write_filler(port: int, key: str, size: int) -> None:
    with redis.Redis(port=port, socket_timeout=10) as r:
        r.set(key, b"x" * size, ex=60)


async def wait_promoted(replica: int, killed_at: float) -> float | None:
    """Seconds from the kill until the victim's replica says it is a primary."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if is_primary(replica):
            return round(time.monotonic() - killed_at, 3)
        await asyncio.sleep(0.05)
    return None


async def restart_later(settings: Settings, delay: float) -> None:
    await asyncio.sleep(delay)
    await asyncio.to_thread(restore, settings)
    log(f"restarted the killed node ({delay:g} s after the kill)")


def restore(settings: Settings) -> None:
    """Start the killed node again (it rejoins as a replica) and wait for a healthy cluster."""
    RedisCluster(settings).start(wait=60)


def data_size(settings: Settings) -> dict[str, int]:
    keys = memory = 0
    for port in range(settings.redis_cluster_port, settings.redis_cluster_port + 6):
        if is_primary(port):
            with redis.Redis(port=port, decode_responses=True, socket_timeout=2) as r:
                keys += int(r.dbsize())
                memory += int(r.info("memory")["used_memory"])
    return {"keys": keys, "used_memory_bytes": memory}


async def run(settings: Settings, scenario: Scenario, modes: list[bool]) -> list[Outcome]:
    outcomes = []
    for durable in modes:
        restore(settings)
        log(f"durable sends {'on' if durable else 'off'}: {scenario.sends} sends")
        outcomes.append(await run_once(settings, scenario, durable))
    restore(settings)
    return outcomes


COLUMNS = [
    ("acknowledged", "acknowledged"),
    ("lost", "lost"),
    ("duplicated", "duplicated"),
    ("other_5xx", "5xx other than 503"),
    ("status_503", "503s"),
    ("not_acknowledged", "never acknowledged"),
    ("no_primary_s", "time without a primary (s)"),
    ("promoted_after_s", "promotion seen after kill (s)"),
    ("stored", "messages stored"),
]


def table(outcomes: list[Outcome]) -> str:
    head = "| | " + " | ".join("durable " + ("on" if o.durable else "off") for o in outcomes)
    lines = [head + " |", "|---|" + "---|" * len(outcomes)]
    for attr, label in COLUMNS:
        lines.append(f"| {label} | " + " | ".join(str(getattr(o, attr)) for o in outcomes) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.failover", description=__doc__.split("\n")[0])
    p.add_argument("--sends", type=int, default=1000)
    p.add_argument("--rate", type=float, default=100.0, help="sends started per second")
    p.add_argument("--kill-at", type=float, default=0.4)
    p.add_argument("--text-bytes", type=int, default=100)
    p.add_argument("--replica-lag-ms", type=int, default=0)
    p.add_argument(
        "--lag-bytes",
        type=int,
        default=0,
        help="with --replica-lag-ms: bytes written to the victim while its replica is held",
    )
    p.add_argument("--restart-after", type=float, default=3.0, help="s after the kill")
    p.add_argument("--modes", default="off,on", help="durable sends off, on, or both (in order)")
    p.add_argument("--out", type=Path, default=RESULTS / "failover")
    args = p.parse_args(argv)
    os.environ.setdefault("REDIS_CLUSTER_NODE_TIMEOUT_MS", "1000")
    settings = cluster_settings(Settings())
    scenario = Scenario(
        sends=args.sends,
        rate=args.rate,
        kill_at=args.kill_at,
        text_bytes=args.text_bytes,
        replica_lag_ms=args.replica_lag_ms,
        lag_bytes=args.lag_bytes,
        restart_after=args.restart_after,
    )
    for m in devstack.up(settings):
        log(m)
    started = time.monotonic()
    modes = [m.strip() == "on" for m in args.modes.split(",")]
    outcomes = asyncio.run(run(settings, scenario, modes))
    size = data_size(settings)
    report = table(outcomes)
    command = "python -m bench.failover " + " ".join(sys.argv[1:] if argv is None else argv)
    text = (
        f"# Failover: {scenario.sends} sends in one conversation, the slot's primary "
        f"SIGKILLed after {scenario.kill_at:.0%}\n\n"
        f"`{command.strip()}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; data: "
        f"{scenario.sends} messages of {scenario.text_bytes} bytes per run in one "
        f"conversation of two users, {scenario.rate:g} sends/s; cluster after both runs: "
        f"{size['keys']} keys, {size['used_memory_bytes']} bytes used on the primaries; "
        f"node timeout {settings.redis_cluster_node_timeout_ms} ms, durable timeout "
        f"{settings.redis_durable_timeout_ms} ms, replica lag {scenario.replica_lag_ms} ms "
        f"with {scenario.lag_bytes} bytes written behind it, "
        f"killed node restarted {scenario.restart_after:g} s after the kill.\n\n"
        f"{report}\n"
    )
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".md").write_text(text)
    args.out.with_suffix(".json").write_text(
        json.dumps(
            {
                "command": command.strip(),
                "scenario": asdict(scenario),
                "data": size,
                "seconds": round(time.monotonic() - started, 1),
                "outcomes": [asdict(o) for o in outcomes],
            },
            indent=2,
        )
    )
    log(f"wrote {args.out.with_suffix('.md')} and .json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
