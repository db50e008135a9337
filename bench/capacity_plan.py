"""The capacity plan's arithmetic: measured figures (`Measured`, read from the JSON that
`python -m bench.capacity measure` writes) times stated assumptions (`Assumptions`, every
one a named parameter printed with the table) give, for a number of registered users, the
API cores, the Redis memory and Redis Cluster primaries, the Neo4j store and page cache,
and the Neo4j cores for reads (`plan_for`); and, since every resource grows linearly with
users, the user count at which each one outgrows one machine (`limits`: which comes first).

Pure functions, no server: tests/test_capacity_plan.py checks them on hand-computed cases.

The model, per kind of request k (suggestions, feed, profile, send, login):

- peak rate_k = users x daily_active_share x per_day_k / 86,400 x peak_to_average;
- a cached kind misses with 1 - hit_ratio_k: misses cost the measured cold CPU, hits the
  warm CPU (cold figures were measured with the principal uncached too, so principal misses
  are inside them, conservatively);
- API cores = sum of rate x API CPU per request / target utilisation; Neo4j read cores the
  same with Neo4j's CPU (reads run on READ-routed secondaries);
- cache entries alive of kind k = peak miss rate_k x TTL_k (an entry is written on a miss
  and lives its TTL; hits do not extend it), times the measured bytes per entry; principal
  entries from every request's principal misses (1 - principal_hit_ratio);
- inbox: every conversation (users x inbox_user_share x conversations_per_user / 2: two
  participants each) costs the measured bytes per conversation, every message kept (those
  sent in the last inbox_days_kept days) the measured bytes per message, and messages of the
  last 25 hours their idempotency record on top;
- Redis memory = (cache + inbox) / redis_fill (headroom for fragmentation, replication and
  AOF-rewrite buffers); primaries = ceil(memory / redis_node_gb);
- Neo4j store = the measured empty store + users x (bytes per user + friendships, posts,
  likes and comments per user x their bytes); page cache = store x pagecache_headroom.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

GB = 1e9
DAY_S = 86_400.0
IDEMPOTENCY_HOURS = 25.0  # redislayer/inbox.py IDEM_TTL
# Request kinds of the plan; each has CPU figures measured per request.
CACHED_KINDS = ("suggestions", "feed", "profile")  # hit: `<kind>_warm`, miss: `<kind>_cold`
UNCACHED_KINDS = ("send", "login")
# The cache kind (redislayer/cachepolicy.py) each cached request kind fills.
CACHE_KIND_OF = {"suggestions": "sugg", "feed": "feed", "profile": "prof"}
STORE_ITEMS = ("friendships", "posts", "likes", "comments")  # per user, besides the user


@dataclass(frozen=True)
class Cpu:
    """CPU milliseconds per request in each process."""

    api: float
    neo4j: float
    redis: float


@dataclass(frozen=True)
class Measured:
    """What the plan takes from a measurement (names as in the JSON's `fitted` section)."""

    store_base_bytes: float  # the empty database with the schema
    store_bytes_per: dict[str, float]  # "user", "friendship", "post", "like", "comment"
    mix_per_user: dict[str, float]  # the seed's friendships, posts, likes, comments per user
    cache_entry_bytes: dict[str, float]  # "auth", "perm", "prof", "sugg", "feed"
    cache_ttl_s: dict[str, float]  # the same kinds' TTLs (redislayer/cachepolicy.py)
    inbox_conversation_bytes: float
    inbox_message_bytes: float  # kept for as long as the message is
    inbox_idempotency_bytes: float  # per message, for 25 hours
    cpu_ms: dict[str, Cpu]  # suggestions_warm/_cold, feed_*, profile_*, send, login

    @staticmethod
    def from_json(doc: dict[str, Any]) -> Measured:
        f = doc["fitted"]
        return Measured(
            store_base_bytes=float(f["store_base_bytes"]),
            store_bytes_per={k: float(v) for k, v in f["store_bytes_per"].items()},
            mix_per_user={k: float(v) for k, v in f["mix_per_user"].items()},
            cache_entry_bytes={k: float(v) for k, v in f["cache_entry_bytes"].items()},
            cache_ttl_s={k: float(v) for k, v in f["cache_ttl_s"].items()},
            inbox_conversation_bytes=float(f["inbox"]["conversation_bytes"]),
            inbox_message_bytes=float(f["inbox"]["message_bytes"]),
            inbox_idempotency_bytes=float(f["inbox"]["idempotency_bytes_per_message"]),
            cpu_ms={k: Cpu(**v) for k, v in f["cpu_ms"].items()},
        )


@dataclass(frozen=True)
class Assumptions:
    """The stated assumptions; every one is printed with the plan (`describe`)."""

    daily_active_share: float = 0.25  # of registered users, active on a given day
    # Requests per active user per day, by kind.
    per_day: dict[str, float] = field(
        default_factory=lambda: {
            "suggestions": 5.0,
            "feed": 30.0,
            "profile": 10.0,
            "send": 20.0,
            "login": 0.5,
        }
    )
    peak_to_average: float = 3.0
    # Entries live 300 s (suggestions, profiles) and 60 s (feeds): a hit needs the same
    # question again within that time (paging back, a second tab), so most requests miss.
    hit_ratio: dict[str, float] = field(
        default_factory=lambda: {"suggestions": 0.5, "feed": 0.3, "profile": 0.3}
    )
    principal_hit_ratio: float = 0.9  # requests whose principal is cached
    perm_hit_ratio: float = 0.9  # sends whose permission entry is cached
    target_cpu_utilisation: float = 0.6
    inbox_user_share: float = 0.5  # of registered users, with conversations in Redis
    conversations_per_user: float = 10.0
    inbox_days_kept: float = 90.0  # messages kept in Redis (see docs/scaling.md: no age trim yet)
    redis_fill: float = 0.75  # used_memory / maxmemory a primary is run at
    redis_node_gb: float = 25.0  # maxmemory of one primary
    pagecache_headroom: float = 1.2  # page cache = store x this (growth, index churn)
    api_host_cores: float = 32.0  # one machine, for "which limit comes first"
    neo4j_host_cores: float = 32.0
    neo4j_host_ram_gb: float = 256.0  # page cache one Neo4j machine can hold

    def describe(self) -> list[tuple[str, str]]:
        out = []
        for f in fields(self):
            v = getattr(self, f.name)
            text = (
                ", ".join(f"{k} {x:g}" for k, x in v.items()) if isinstance(v, dict) else f"{v:g}"
            )
            out.append((f.name, text))
        return out


@dataclass(frozen=True)
class Plan:
    users: float
    daily_active: float
    peak_rps: dict[str, float]  # by request kind
    api_cores: float
    neo4j_read_cores: float
    neo4j_read_servers: int
    cache_bytes: dict[str, float]  # by cache kind
    inbox_bytes: float
    redis_bytes: float  # (cache + inbox) / redis_fill
    redis_primaries: int
    store_bytes: float
    pagecache_bytes: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def peak_rates(users: float, a: Assumptions) -> dict[str, float]:
    active = users * a.daily_active_share
    return {k: active * n / DAY_S * a.peak_to_average for k, n in a.per_day.items()}


def cpu_cores(rates: dict[str, float], m: Measured, a: Assumptions, part: str) -> float:
    """Cores of one process kind (`api`, `neo4j`, `redis`) at `rates`, at the target
    utilisation."""
    ms = 0.0
    for kind, rate in rates.items():
        if kind in CACHED_KINDS:
            hit = a.hit_ratio[kind]
            ms += rate * hit * getattr(m.cpu_ms[f"{kind}_warm"], part)
            ms += rate * (1 - hit) * getattr(m.cpu_ms[f"{kind}_cold"], part)
        else:
            ms += rate * getattr(m.cpu_ms[kind], part)
    return ms / 1000 / a.target_cpu_utilisation


def cache_bytes(rates: dict[str, float], m: Measured, a: Assumptions) -> dict[str, float]:
    """Bytes of live cache entries by cache kind: misses per second x TTL x entry size."""
    out = {}
    for kind in CACHED_KINDS:
        ck = CACHE_KIND_OF[kind]
        misses = rates[kind] * (1 - a.hit_ratio[kind])
        out[ck] = misses * m.cache_ttl_s[ck] * m.cache_entry_bytes[ck]
    auth_misses = sum(rates.values()) * (1 - a.principal_hit_ratio)
    out["auth"] = auth_misses * m.cache_ttl_s["auth"] * m.cache_entry_bytes["auth"]
    perm_misses = rates["send"] * (1 - a.perm_hit_ratio)
    out["perm"] = perm_misses * m.cache_ttl_s["perm"] * m.cache_entry_bytes["perm"]
    return out


def inbox_bytes(users: float, m: Measured, a: Assumptions) -> float:
    conversations = users * a.inbox_user_share * a.conversations_per_user / 2
    sent_per_day = users * a.daily_active_share * a.per_day["send"]
    kept = sent_per_day * a.inbox_days_kept
    recent = sent_per_day * IDEMPOTENCY_HOURS / 24
    return (
        conversations * m.inbox_conversation_bytes
        + kept * m.inbox_message_bytes
        + recent * m.inbox_idempotency_bytes
    )


def store_bytes(users: float, m: Measured) -> float:
    per_user = m.store_bytes_per["user"] + sum(
        m.mix_per_user[item] * m.store_bytes_per[item[:-1]] for item in STORE_ITEMS
    )
    return m.store_base_bytes + users * per_user


def plan_for(users: float, m: Measured, a: Assumptions) -> Plan:
    rates = peak_rates(users, a)
    cache = cache_bytes(rates, m, a)
    inbox = inbox_bytes(users, m, a)
    redis = (sum(cache.values()) + inbox) / a.redis_fill
    store = store_bytes(users, m)
    neo4j_cores = cpu_cores(rates, m, a, "neo4j")
    return Plan(
        users=users,
        daily_active=users * a.daily_active_share,
        peak_rps=rates,
        api_cores=cpu_cores(rates, m, a, "api"),
        neo4j_read_cores=neo4j_cores,
        neo4j_read_servers=max(1, math.ceil(neo4j_cores / a.neo4j_host_cores)),
        cache_bytes=cache,
        inbox_bytes=inbox,
        redis_bytes=redis,
        redis_primaries=max(1, math.ceil(redis / (a.redis_node_gb * GB))),
        store_bytes=store,
        pagecache_bytes=store * a.pagecache_headroom,
    )


@dataclass(frozen=True)
class Limit:
    resource: str
    one_machine: str  # what one machine holds, in words
    users: float  # registered users at which one machine is outgrown


def limits(m: Measured, a: Assumptions) -> list[Limit]:
    """For each resource, the user count at which it needs more than one machine, first
    first. Every quantity is linear in users (a + b x users), so the crossing is exact."""

    def crossing(value: float, at_zero: float, per_user: float) -> float:
        return math.inf if per_user <= 0 else max(0.0, (value - at_zero) / per_user)

    zero, one = plan_for(0.0, m, a), plan_for(1.0, m, a)
    found = [
        Limit(
            "API cores",
            f"{a.api_host_cores:g} cores",
            crossing(a.api_host_cores, zero.api_cores, one.api_cores - zero.api_cores),
        ),
        Limit(
            "Redis memory",
            f"{a.redis_node_gb:g} GB maxmemory (one primary)",
            crossing(a.redis_node_gb * GB, zero.redis_bytes, one.redis_bytes - zero.redis_bytes),
        ),
        Limit(
            "Neo4j read cores",
            f"{a.neo4j_host_cores:g} cores",
            crossing(
                a.neo4j_host_cores,
                zero.neo4j_read_cores,
                one.neo4j_read_cores - zero.neo4j_read_cores,
            ),
        ),
        Limit(
            "Neo4j page cache (whole store in RAM)",
            f"{a.neo4j_host_ram_gb:g} GB of page cache",
            crossing(
                a.neo4j_host_ram_gb * GB,
                zero.pagecache_bytes,
                one.pagecache_bytes - zero.pagecache_bytes,
            ),
        ),
    ]
    return sorted(found, key=lambda x: x.users)


def human_users(n: float) -> str:
    if math.isinf(n):
        return "never"
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:.0f}"


def plan_table(plans: list[Plan]) -> list[str]:
    """The plan as a markdown table (one column per user count)."""
    head = "| | " + " | ".join(human_users(p.users) + " users" for p in plans) + " |"
    rows: list[tuple[str, list[str]]] = [
        ("daily active users", [human_users(p.daily_active) for p in plans]),
        ("peak requests/s (all kinds)", [f"{sum(p.peak_rps.values()):,.0f}" for p in plans]),
        (
            "peak sends/s; suggestion, feed, profile reads/s",
            [
                f"{p.peak_rps['send']:,.0f}; {p.peak_rps['suggestions']:,.0f}, "
                f"{p.peak_rps['feed']:,.0f}, {p.peak_rps['profile']:,.0f}"
                for p in plans
            ],
        ),
        ("API cores", [f"{p.api_cores:,.1f}" for p in plans]),
        ("Redis cache GB", [f"{sum(p.cache_bytes.values()) / GB:,.2f}" for p in plans]),
        ("Redis inbox GB", [f"{p.inbox_bytes / GB:,.1f}" for p in plans]),
        ("Redis memory GB (at the fill ratio)", [f"{p.redis_bytes / GB:,.1f}" for p in plans]),
        ("Redis Cluster primaries", [str(p.redis_primaries) for p in plans]),
        ("Neo4j store GB", [f"{p.store_bytes / GB:,.1f}" for p in plans]),
        ("Neo4j page cache GB", [f"{p.pagecache_bytes / GB:,.1f}" for p in plans]),
        ("Neo4j read cores", [f"{p.neo4j_read_cores:,.1f}" for p in plans]),
        ("Neo4j read servers (secondaries)", [str(p.neo4j_read_servers) for p in plans]),
    ]
    sep = "|---|" + "--:|" * len(plans)
    return [head, sep, *(f"| {name} | " + " | ".join(vals) + " |" for name, vals in rows)]
