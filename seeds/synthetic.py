"""`socialgraph seed synthetic`: large deterministic graphs for load tests and benchmarks.

Friendships come from one of two models (`seeds.generators`):

* `powerlaw-cluster`: Holme-Kim growth (networkx's `powerlaw_cluster_graph`, same graph
  for the same seed) with m = avg_degree / 2 and triangle probability 0.3: heavy-tailed
  degrees and real clustering, like a social network.
* `sbm`: a planted-partition stochastic block model: communities of skewed sizes,
  80 % of friendships inside a community (`mixing` = 0.2 cross).

Users are `syn-<n>` (handle `syn_<n>`, source `synthetic`, source_id `<n>`). Posts per
user are lognormal (most post little, a few a lot); each post's likes and comments scale
with a lognormal popularity times the square root of the author's degree, and most
likers and commenters are the author's friends. Everything is a function of the seed;
timestamps are offsets from today 00:00 UTC (`common.start_of_today`).

The fast path: on an empty graph (after `--reset`, or found empty) users and friendships
are CREATEd, not MERGEd, sent as packed strings (`bulk.users_packed`,
`bulk.friendships_packed`) by two concurrent writers, and users are written while the
friendship graph is being generated. Otherwise the MERGE queries make re-runs idempotent.
Posts, likes and comments always go through `bulk.posts/likes/comments` (one writer),
which maintain counts and INTERACTS.
"""

from __future__ import annotations

import math
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from neo4j import Driver

from seeds import bulk
from seeds.common import (
    SeedReport,
    begin_seed,
    counts_retries,
    end_seed,
    epoch_ms,
    from_epoch_ms,
    is_empty,
    start_of_today,
    write_content,
    write_path_note,
)
from seeds.generators import Edge, holme_kim_edges, planted_partition

Model = Literal["powerlaw-cluster", "sbm"]
MODELS: tuple[Model, ...] = ("powerlaw-cluster", "sbm")
SOURCE = "synthetic"
DAY_MS = 86_400_000

FIRST = [
    "Ada",
    "Ben",
    "Chloe",
    "Dan",
    "Ella",
    "Finn",
    "Gia",
    "Hugo",
    "Iris",
    "Jon",
    "Kira",
    "Leo",
    "Maya",
    "Noah",
    "Omar",
    "Pia",
    "Ravi",
    "Sara",
    "Tom",
    "Una",
    "Vera",
    "Wes",
    "Yara",
    "Zane",
]
LAST = [
    "Adams",
    "Berg",
    "Costa",
    "Diaz",
    "Evans",
    "Fischer",
    "Garcia",
    "Hansen",
    "Ito",
    "Jensen",
    "Khan",
    "Lopez",
    "Meyer",
    "Nowak",
    "Olsen",
    "Park",
    "Quinn",
    "Rossi",
    "Silva",
    "Tanaka",
    "Ueda",
    "Varga",
    "Weber",
    "Young",
]
TOPICS = [
    "climbing",
    "jazz",
    "databases",
    "novels",
    "cooking",
    "running",
    "chess",
    "films",
    "photography",
    "gardening",
    "cycling",
    "poetry",
]
REPLIES = [
    "Nice!",
    "Agreed.",
    "Haha",
    "Tell me more",
    "So true",
    "Congrats!",
    "Same here",
    "Interesting",
    "Love it",
    "Where was this?",
]


def user_id(n: int) -> str:
    return f"syn-{n}"


@dataclass(frozen=True)
class Spec:
    users: int
    avg_degree: float = 20.0
    model: Model = "powerlaw-cluster"
    seed: int = 42
    triangle_prob: float = 0.3
    communities: int | None = None  # sbm; default about one per 1,000 users
    mixing: float = 0.2  # sbm: share of friendships across communities
    posts_per_user: float = 1.0
    likes_per_post: float = 2.0
    comments_per_post: float = 0.5

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {MODELS}, not {self.model!r}")
        if self.users < 2:
            raise ValueError("need at least 2 users")
        if self.avg_degree <= 0:
            raise ValueError("avg_degree must be positive")
        if self.model == "powerlaw-cluster" and self.m >= self.users:
            raise ValueError(f"powerlaw-cluster needs users > avg_degree / 2 (m = {self.m})")
        if min(self.posts_per_user, self.likes_per_post, self.comments_per_post) < 0:
            raise ValueError("posts, likes and comments per unit cannot be negative")

    @property
    def m(self) -> int:
        """Holme-Kim edges per new node: the average degree is about 2m."""
        return max(1, round(self.avg_degree / 2))

    @property
    def k(self) -> int:
        if self.communities is not None:
            return self.communities
        return max(1, min(max(2, self.users // 1000), self.users // 2))


def generate_edges(spec: Spec) -> list[Edge]:
    """The friendship edges over 0..users-1 (each pair once)."""
    if spec.model == "powerlaw-cluster":
        return holme_kim_edges(spec.users, spec.m, spec.triangle_prob, spec.seed)
    _, edges = planted_partition(spec.users, spec.avg_degree, spec.k, spec.mixing, spec.seed)
    return edges


@dataclass
class Content:
    posts: list[dict[str, Any]] = field(default_factory=list)
    likes: list[dict[str, Any]] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)


UserRow = tuple[str, str, str, str, int, str, str]
FriendRow = tuple[str, str, int]


def _rng(spec: Spec, stream: int) -> random.Random:
    """One independent stream per step, so each step is reproducible on its own."""
    return random.Random(spec.seed * 1_000_003 + stream)


def _stochastic_round(x: float, rng: random.Random) -> int:
    base = math.floor(x)
    return base + (1 if rng.random() < x - base else 0)


def build_users(spec: Spec, anchor: datetime) -> tuple[list[UserRow], list[int]]:
    """Packed user rows and each user's created_at (epoch ms), up to three years back."""
    rng = _rng(spec, 1)
    now_ms = epoch_ms(anchor)
    created = [now_ms - rng.randrange(3 * 365 * DAY_MS) for _ in range(spec.users)]
    rows = []
    for i in range(spec.users):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        t1, t2 = rng.sample(TOPICS, 2)
        rows.append(
            (
                user_id(i),
                f"syn_{i}",
                f"{first} {last}",
                f"Into {t1} and {t2}.",
                created[i],
                SOURCE,
                str(i),
            )
        )
    return rows, created


def build_friendships(
    spec: Spec, edges: list[Edge], created: list[int], anchor: datetime
) -> list[FriendRow]:
    """Packed friendship rows (smaller id first), since = a time after both joined,
    sorted by start node so a batch touches few distinct start nodes."""
    rng = _rng(spec, 2)
    now_ms = epoch_ms(anchor)
    ids = [user_id(i) for i in range(spec.users)]
    rand = rng.random
    rows = []
    for a, b in edges:
        start = max(created[a], created[b])
        since = start + int(rand() * (now_ms - start))
        ia, ib = ids[a], ids[b]
        rows.append((ia, ib, since) if ia < ib else (ib, ia, since))
    rows.sort()
    return rows


def build_content(spec: Spec, edges: list[Edge], created: list[int], anchor: datetime) -> Content:
    """Posts, likes and comments; deterministic given (spec, edges, created, anchor)."""
    out = Content()
    if spec.posts_per_user <= 0:
        return out
    rng = _rng(spec, 3)
    rand = rng.random
    now_ms = epoch_ms(anchor)
    n = spec.users
    ids = [user_id(i) for i in range(n)]
    friends: list[list[int]] = [[] for _ in range(n)]
    for a, b in edges:
        friends[a].append(b)
        friends[b].append(a)
    # Posts per user: lognormal with mean posts_per_user (sigma 1: a long tail of heavy posters).
    sigma = 1.0
    mu = math.log(spec.posts_per_user) - sigma * sigma / 2
    posts: list[tuple[int, int, float]] = []  # (author, created ms, popularity)
    for author in range(n):
        for _ in range(_stochastic_round(rng.lognormvariate(mu, sigma), rng)):
            t = max(created[author], now_ms - rng.randrange(30 * DAY_MS))
            pop = rng.lognormvariate(0.0, 1.0) * math.sqrt(1 + len(friends[author]))
            posts.append((author, t, pop))
    mean_pop = sum(p for _, _, p in posts) / len(posts) if posts else 1.0

    def audience(author: int, count: int, friend_share: float) -> list[int]:
        chosen: set[int] = set()
        mine = friends[author]
        for _ in range(min(count, n - 1)):
            who = rng.choice(mine) if mine and rand() < friend_share else rng.randrange(n)
            if who != author:
                chosen.add(who)
        return sorted(chosen)

    for k, (author, t, pop) in enumerate(posts, start=1):
        post_id = f"syn-post-{k}"
        out.posts.append(
            {
                "id": post_id,
                "author_id": ids[author],
                "text": _post_text(rng),
                "created_at": from_epoch_ms(t),
                "source": SOURCE,
                "source_id": str(k),
            }
        )
        window = max(1, min(3 * DAY_MS, now_ms - t))
        likes = _stochastic_round(spec.likes_per_post * pop / mean_pop, rng)
        for who in audience(author, likes, 0.8):
            out.likes.append(
                {
                    "user_id": ids[who],
                    "post_id": post_id,
                    "at": from_epoch_ms(t + rng.randrange(window)),
                }
            )
        comments = _stochastic_round(spec.comments_per_post * pop / mean_pop, rng)
        for who in audience(author, comments, 0.7):
            c = len(out.comments) + 1
            out.comments.append(
                {
                    "id": f"syn-comment-{c}",
                    "user_id": ids[who],
                    "post_id": post_id,
                    "text": rng.choice(REPLIES),
                    "created_at": from_epoch_ms(t + rng.randrange(window)),
                    "source": SOURCE,
                    "source_id": str(c),
                }
            )
    return out


def _post_text(rng: random.Random) -> str:
    topic = rng.choice(TOPICS)
    return rng.choice(
        [
            f"Spent the whole day on {topic}.",
            f"Hot take: {topic} is underrated.",
            f"Looking for people into {topic} around here.",
            f"Best {topic} moment this week, no contest.",
            f"Any tips for getting better at {topic}?",
        ]
    )


@counts_retries
def seed_synthetic(
    driver: Driver,
    spec: Spec,
    *,
    database: str = "neo4j",
    batch_size: int = 10_000,
    writers: int = 2,
    reset: bool = False,
    anchor: datetime | None = None,
    show_progress: bool = True,
) -> SeedReport:
    """Seed the graph `spec` describes. Users are written in a background thread while
    the friendship graph is generated (Neo4j and Python each keep one core busy); users
    and friendships use `writers` concurrent sessions, posts/likes/comments one."""
    report = SeedReport(
        f"socialgraph seed synthetic: {spec.users:,} users, model {spec.model}, seed {spec.seed}"
    )
    anchor = anchor or start_of_today()
    begin_seed(report, driver, database, reset)
    create = not any(report.before.values()) and is_empty(driver, database)
    report.extra.update(create_path=create, batch_size=batch_size, writers=writers)
    kw: dict[str, Any] = {"database": database, "batch_size": batch_size}
    with bulk.progress(disable=not show_progress) as bar:
        kw["bar"] = bar
        began = time.perf_counter()

        def write_users(rows: list[UserRow]) -> tuple[int, float]:
            start = time.perf_counter()
            n = bulk.users_packed(driver, rows, create=create, writers=writers, **kw)
            return n, time.perf_counter() - start

        with report.step("generate users"):
            users, created = build_users(spec, anchor)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="seed-users") as pool:
            users_done = pool.submit(write_users, users)
            with report.step("generate graph"):
                edges = generate_edges(spec)
            with report.step("generate friendships"):
                friendships = build_friendships(spec, edges, created, anchor)
            with report.step("wait for users"):
                report.written["users"], report.seconds["users"] = users_done.result()
        report.sent.update(users=len(users), friendships=len(friendships))
        with report.step("friendships"):
            report.written["friendships"] = bulk.friendships_packed(
                driver, friendships, create=create, writers=writers, **kw
            )
        missing = len(friendships) - report.written["friendships"]
        if missing:  # a MATCH found no user: cannot happen unless users failed to load
            report.notes.append(f"{missing:,} friendship rows matched no user pair (skipped).")
        # Users and friendships, generation included: what the 60 s target is about.
        report.extra.update(generated_edges=len(edges), graph_seconds=time.perf_counter() - began)
        with report.step("generate content"):
            content = build_content(spec, edges, created, anchor)
        if content.posts:
            report.sent.update(
                posts=len(content.posts), likes=len(content.likes), comments=len(content.comments)
            )
            rows = {"posts": content.posts, "likes": content.likes, "comments": content.comments}
            write_content(report, driver, rows, **kw)
    end_seed(report, driver, database)
    report.notes.append(write_path_note(report, create, ("users", "friendships")))
    report.notes.append(
        f"Batch size {batch_size:,}, {writers} writer(s) for users and friendships; "
        f"users were written while the graph was generated."
    )
    return report
