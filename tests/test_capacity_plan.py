"""The capacity plan's arithmetic (bench/capacity_plan.py) and the fit of measured store
sizes (bench/capacity.py), on figures small enough to compute by hand. No server."""

from __future__ import annotations

from typing import Any

import pytest

from bench.capacity import fit, set_assumption
from bench.capacity_plan import Assumptions, Cpu, Measured, limits, plan_for

# 172,800 users with half active a day: 86,400 active users, so "1 per active user per
# day" is 1 request/s on average and 2/s at the peak factor of 2.
USERS = 172_800.0

MEASURED = Measured(
    store_base_bytes=1_000.0,
    store_bytes_per={"user": 100.0, "friendship": 10.0, "post": 50.0, "like": 5.0, "comment": 20.0},
    mix_per_user={"friendships": 10.0, "posts": 2.0, "likes": 4.0, "comments": 1.0},
    cache_entry_bytes={
        "sugg": 1_000.0,
        "feed": 2_000.0,
        "prof": 500.0,
        "auth": 200.0,
        "perm": 100.0,
    },
    cache_ttl_s={"sugg": 300.0, "feed": 60.0, "prof": 300.0, "auth": 60.0, "perm": 300.0},
    inbox_conversation_bytes=1_000.0,
    inbox_message_bytes=300.0,
    inbox_idempotency_bytes=240.0,
    cpu_ms={
        "suggestions_warm": Cpu(api=1.0, neo4j=0.0, redis=0.1),
        "suggestions_cold": Cpu(api=10.0, neo4j=20.0, redis=0.5),
        "feed_warm": Cpu(api=1.0, neo4j=0.0, redis=0.1),
        "feed_cold": Cpu(api=5.0, neo4j=4.0, redis=0.5),
        "profile_warm": Cpu(api=1.0, neo4j=0.0, redis=0.1),
        "profile_cold": Cpu(api=3.0, neo4j=2.0, redis=0.5),
        "send": Cpu(api=4.0, neo4j=0.0, redis=1.0),
        "login": Cpu(api=30.0, neo4j=1.0, redis=0.0),
    },
)

ASSUME = Assumptions(
    daily_active_share=0.5,
    per_day={"suggestions": 1.0, "feed": 2.0, "profile": 1.0, "send": 1.0, "login": 1.0},
    peak_to_average=2.0,
    hit_ratio={"suggestions": 0.5, "feed": 0.75, "profile": 0.5},
    principal_hit_ratio=0.75,
    perm_hit_ratio=0.5,
    target_cpu_utilisation=0.5,
    inbox_user_share=0.5,
    conversations_per_user=4.0,
    inbox_days_kept=10.0,
    redis_fill=0.8,
    redis_node_gb=0.1,
    pagecache_headroom=1.5,
    api_host_cores=2.0,
    neo4j_host_cores=2.0,
    neo4j_host_ram_gb=0.001,
)


def test_peak_rates_cores_and_store() -> None:
    p = plan_for(USERS, MEASURED, ASSUME)
    assert p.daily_active == 86_400
    assert p.peak_rps == pytest.approx(
        {"suggestions": 2.0, "feed": 4.0, "profile": 2.0, "send": 2.0, "login": 2.0}
    )
    # API ms per second: suggestions 2 x (0.5 x 1 + 0.5 x 10) = 11; feed 4 x (0.75 x 1 +
    # 0.25 x 5) = 8; profile 2 x (0.5 x 1 + 0.5 x 3) = 4; sends 2 x 4 = 8; logins 2 x 30 = 60:
    # 91 ms/s = 0.091 cores, at 50 % utilisation 0.182.
    assert p.api_cores == pytest.approx(0.182)
    # Neo4j: 2 x 0.5 x 20 + 4 x 0.25 x 4 + 2 x 0.5 x 2 + 2 x 1 (logins) = 28 ms/s -> 0.056.
    assert p.neo4j_read_cores == pytest.approx(0.056)
    assert p.neo4j_read_servers == 1
    # Per user: 100 + 10 x 10 + 2 x 50 + 4 x 5 + 1 x 20 = 340 bytes.
    assert p.store_bytes == pytest.approx(1_000 + 340 * USERS)
    assert p.pagecache_bytes == pytest.approx(1.5 * (1_000 + 340 * USERS))


def test_redis_cache_inbox_and_primaries() -> None:
    p = plan_for(USERS, MEASURED, ASSUME)
    # Misses/s x TTL x bytes: sugg 1 x 300 x 1000; feed 1 x 60 x 2000; prof 1 x 300 x 500;
    # principals (12 req/s x 0.25) x 60 x 200; permissions (2 sends/s x 0.5) x 300 x 100.
    assert p.cache_bytes == pytest.approx(
        {"sugg": 300_000, "feed": 120_000, "prof": 150_000, "auth": 36_000, "perm": 30_000}
    )
    # 172,800 x 0.5 x 4 / 2 = 172,800 conversations x 1000; 86,400 sends a day x 10 days x
    # 300; the last 25 h of sends (90,000) x 240.
    assert p.inbox_bytes == pytest.approx(172_800_000 + 259_200_000 + 21_600_000)
    assert p.redis_bytes == pytest.approx((636_000 + 453_600_000) / 0.8)
    assert p.redis_primaries == 6  # 567.8 MB over 100 MB nodes


def test_limits_come_in_order_of_the_users_that_outgrow_one_machine() -> None:
    found = limits(MEASURED, ASSUME)
    assert [x.resource for x in found] == [
        "Neo4j page cache (whole store in RAM)",
        "Redis memory",
        "API cores",
        "Neo4j read cores",
    ]
    by = {x.resource: x.users for x in found}
    assert by["Neo4j page cache (whole store in RAM)"] == pytest.approx((1e6 - 1_500) / 510)
    assert by["Redis memory"] == pytest.approx(1e8 / (567_795_000 / USERS))
    assert by["API cores"] == pytest.approx(2 / (0.182 / USERS))
    assert by["Neo4j read cores"] == pytest.approx(2 / (0.056 / USERS))


def test_plan_scales_linearly_with_users() -> None:
    one, ten = plan_for(1e6, MEASURED, ASSUME), plan_for(1e7, MEASURED, ASSUME)
    assert ten.api_cores == pytest.approx(10 * one.api_cores)
    assert ten.inbox_bytes == pytest.approx(10 * one.inbox_bytes)
    assert ten.store_bytes - 1_000 == pytest.approx(10 * (one.store_bytes - 1_000))


def test_set_assumption_changes_one_named_value() -> None:
    a = set_assumption(ASSUME, "per_day.send=50")
    assert a.per_day["send"] == 50 and a.per_day["feed"] == 2.0
    assert set_assumption(a, "peak_to_average=4").peak_to_average == 4
    with pytest.raises(ValueError):
        set_assumption(a, "per_day.nothing=1")
    with pytest.raises(ValueError):
        set_assumption(a, "no_such=1")


def stage(name: str, counts: dict[str, int], total: int, tail: int) -> dict[str, Any]:
    return {"stage": name, "counts": counts, "bytes": {"used": total, "total": total + tail}}


def size(users: int, fixed: int, tail_after_likes: int = 0) -> dict[str, Any]:
    """A store that costs 50 B per user, 30 per friendship (5 per user), 200 per post (1 per
    user), 8 per like, 90 per comment (one per 10 users), plus `fixed` bytes at each step
    (file granularity) that a fit across two sizes must cancel, and files whose apparent
    size carries a preallocated tail from the likes on (Neo4j's property store grows 32 MiB
    at a time) that the fit must not count."""
    c = dict.fromkeys(("users", "friendships", "posts", "likes", "comments"), 0)
    stages = [stage("schema", dict(c), 1_000, 0)]
    total = 1_000
    for name, per, n in (
        ("users", 50, users),
        ("friendships", 30, 5 * users),
        ("posts", 200, users),
        ("likes", 8, 2 * users),
        ("comments", 90, users // 10),
    ):
        c[name] = n
        total += per * n + fixed
        tail = tail_after_likes if name in ("likes", "comments") else 0
        stages.append(stage(name, dict(c), total, tail))
    cpu = {"cpu_ms_per_request": {"api": 1.0, "neo4j": 2.0, "redis": 3.0}}
    api = {
        "cpu": {
            k: cpu
            for k in (
                "suggestions_warm",
                "suggestions_cold",
                "feed_warm",
                "feed_cold",
                "profile_warm",
                "profile_cold",
                "send_api",
                "login_argon2id",
            )
        },
        "cache_entries": {"sugg": {"mean_bytes": 1234.5}, "auth": {"mean_bytes": 99.0}},
        "inbox": {
            "conversation_bytes": 1.0,
            "message_bytes": 2.0,
            "idempotency_bytes_per_message": 3.0,
        },
    }
    return {"users": users, "store": stages, "api": api}


def test_fit_takes_the_slope_between_two_sizes() -> None:
    f = fit([size(1_000, 4_096), size(3_000, 4_096, tail_after_likes=2**25)])
    assert f["store_bytes_per"] == {
        "user": 50,
        "friendship": 30,
        "post": 200,
        "like": 8,
        "comment": 90,
    }
    assert f["store_base_bytes"] == 1_000
    assert f["mix_per_user"] == {"friendships": 5, "posts": 1, "likes": 2, "comments": 0.1}
    assert f["cache_entry_bytes"] == {"sugg": 1234.5, "auth": 99.0}
    assert f["cache_ttl_s"] == {"sugg": 300.0, "auth": 60.0}  # redislayer/cachepolicy.py
    assert f["cpu_ms"]["send"] == {"api": 1.0, "neo4j": 2.0, "redis": 3.0}
    assert set(f["cpu_ms"]) >= {"login", "suggestions_cold"}
    # One size: growth over items, fixed costs included.
    one = fit([size(1_000, 4_096)])
    assert one["store_bytes_per"]["user"] == pytest.approx(50 + 4_096 / 1_000, abs=0.05)
    # The measured figures load back into the plan's input.
    doc = {"fitted": f}
    m = Measured.from_json(
        {
            "fitted": {
                **doc["fitted"],
                "cache_entry_bytes": MEASURED.cache_entry_bytes,
                "cache_ttl_s": MEASURED.cache_ttl_s,
            }
        }
    )
    assert m.store_bytes_per["post"] == 200 and m.cpu_ms["login"].redis == 3.0
