"""Feed candidates against the real Neo4j: sources and reasons, exclusions, both orders,
`before`, and keyset pages that neither repeat nor skip."""

from __future__ import annotations

import math
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.config import Settings
from core.errors import Invalid, NotFound
from graph import feed as feeds
from graph.db import Graph, open_async_driver
from graph.feed import FeedItem
from graph.schema import migrate
from seeds import bulk
from tests.graphs import load_graph, user_id

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
NO_CAP = 1_000_000


@pytest.fixture(scope="module")
async def graph(settings: Settings) -> AsyncIterator[Graph]:
    driver = await open_async_driver(settings)
    await migrate(driver, settings.neo4j_database)  # the unique-id constraints the plans use
    yield Graph(driver, settings.neo4j_database, settings.neo4j_query_timeout)
    await driver.close()


def u(name: Any) -> str:
    return user_id(name)


def posts(neo: Any, rows: list[tuple[str, Any, datetime]]) -> None:
    """rows: (post id, author name, created_at)."""
    bulk.posts(
        neo,
        [
            {
                "id": pid,
                "author_id": u(author),
                "text": f"text of {pid}",
                "created_at": at,
                "source": "test",
                "source_id": pid,
            }
            for pid, author, at in rows
        ],
    )


def likes(neo: Any, rows: list[tuple[Any, str]]) -> None:
    """rows: (liker name, post id)."""
    bulk.likes(neo, [{"user_id": u(who), "post_id": pid, "at": T0} for who, pid in rows])


def comments(neo: Any, rows: list[tuple[str, str]]) -> None:
    bulk.comments(
        neo,
        [
            {
                "id": f"c-{i}",
                "user_id": u(who),
                "post_id": pid,
                "text": "hi",
                "created_at": T0,
                "source": "test",
                "source_id": str(i),
            }
            for i, (who, pid) in enumerate(rows)
        ],
    )


def block(neo: Any, a: str, b: str) -> None:
    neo.execute_query(
        "MATCH (a:User {id: $a}), (b:User {id: $b}) "
        "MERGE (a)-[r:BLOCKED]->(b) SET r.at = datetime()",
        a=u(a),
        b=u(b),
    )


async def walk(graph: Graph, me: str, *, limit: int = 100, **kw: Any) -> list[FeedItem]:
    out: list[FeedItem] = []
    cursor: str | None = None
    for _ in range(1000):
        page = await feeds.feed(graph, u(me), limit=limit, cursor=cursor, **kw)
        assert len(page.items) <= limit
        out.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return out
        assert len(page.items) == limit
    raise AssertionError("pagination did not terminate")


def ids(items: list[FeedItem]) -> list[str]:
    return [i.post.id for i in items]


def reasons(items: list[FeedItem]) -> dict[str, list[tuple[str, str]]]:
    return {i.post.id: [(r.code, r.user.handle) for r in i.reasons] for i in items}


# ---------------------------------------------------------------- sources and reasons


def village(neo: Any) -> None:
    """me - a, me - b, a - c (c is a friend of a friend), d a stranger."""
    g = nx.Graph([("me", "a"), ("me", "b"), ("a", "c")])
    g.add_node("d")
    load_graph(neo, g)
    h = timedelta(hours=1)
    posts(
        neo,
        [
            ("a1", "a", T0 - 1 * h),
            ("b1", "b", T0 - 2 * h),
            ("c1", "c", T0 - 3 * h),
            ("d1", "d", T0 - 4 * h),
            ("m1", "me", T0 - 5 * h),
        ],
    )
    likes(neo, [("a", "d1"), ("a", "b1"), ("a", "m1"), ("d", "a1")])
    comments(neo, [("b", "c1"), ("b", "m1"), ("c", "a1")])


async def test_reasons_by_scope_and_flag(graph: Graph, neo: Any) -> None:
    village(neo)
    got = await walk(graph, "me")
    assert ids(got) == ["a1", "b1", "c1", "d1"]  # newest first; never m1
    assert reasons(got) == {
        "a1": [("posted_by", "usera")],
        "b1": [("posted_by", "userb"), ("liked_by", "usera")],
        "c1": [("commented_by", "userb")],
        "d1": [("liked_by", "usera")],
    }
    assert {i.post.id: i.author.id for i in got} == {
        "a1": u("a"),
        "b1": u("b"),
        "c1": u("c"),
        "d1": u("d"),
    }
    a1 = got[0].post
    assert (a1.text, a1.created_at, a1.like_count, a1.comment_count) == (
        "text of a1",
        T0 - timedelta(hours=1),
        1,
        1,
    )
    assert all(i.score is None for i in got)

    got = await walk(graph, "me", include_interactions=False)
    assert reasons(got) == {"a1": [("posted_by", "usera")], "b1": [("posted_by", "userb")]}

    got = await walk(graph, "me", scope="fof", include_interactions=False)
    assert reasons(got) == {
        "a1": [("posted_by", "usera")],
        "b1": [("posted_by", "userb")],
        "c1": [("posted_by_fof", "userc")],
    }

    got = await walk(graph, "me", scope="fof")
    assert reasons(got)["c1"] == [("posted_by_fof", "userc"), ("commented_by", "userb")]
    assert ids(got) == ["a1", "b1", "c1", "d1"]


async def test_interacting_friends_are_capped_at_three_per_reason(graph: Graph, neo: Any) -> None:
    g = nx.Graph([("me", f"f{i}") for i in range(5)])
    g.add_node("s")
    load_graph(neo, g)
    posts(neo, [("s1", "s", T0)])
    likes(neo, [(f"f{i}", "s1") for i in range(5)])
    comments(neo, [("f4", "s1"), ("f4", "s1")])  # two comments, one reason
    [item] = await walk(graph, "me")
    assert [(r.code, r.user.id) for r in item.reasons] == [
        ("liked_by", u("f0")),
        ("liked_by", u("f1")),
        ("liked_by", u("f2")),
        ("commented_by", u("f4")),
    ]


# ---------------------------------------------------------------- exclusions


@pytest.mark.parametrize("direction", ["me_blocks", "blocks_me"])
async def test_blocked_authors_never_appear(graph: Graph, neo: Any, direction: str) -> None:
    village(neo)
    # Block b (a friend whose post a liked), c (fof, commented on by b) and d (liked by a).
    for other in ("b", "c", "d"):
        block(neo, *(("me", other) if direction == "me_blocks" else (other, "me")))
    for scope in ("friends", "fof"):
        for flag in (True, False):
            got = await walk(graph, "me", scope=scope, include_interactions=flag)
            assert ids(got) == ["a1"], (scope, flag)
            # b contributes no reasons either: nothing liked/commented by b shows up.
            assert all(r.user.id != u("b") for i in got for r in i.reasons)


async def test_blocked_friend_contributes_nothing(graph: Graph, neo: Any) -> None:
    village(neo)
    block(neo, "a", "me")
    got = await walk(graph, "me")
    # a1 is gone; d1 (only liked by a) is gone; b1 keeps only posted_by.
    assert reasons(got) == {"b1": [("posted_by", "userb")], "c1": [("commented_by", "userb")]}


async def test_my_own_posts_never_appear(graph: Graph, neo: Any) -> None:
    village(neo)
    for scope in ("friends", "fof"):
        for order in ("recent", "top"):
            got = await walk(graph, "me", scope=scope, order=order, now=T0)
            assert "m1" not in ids(got)
    # A friend of a friend's view: me is a fof of c, and c sees m1 then.
    got = await walk(graph, "c", scope="fof", include_interactions=False)
    assert "m1" in ids(got)


async def test_unknown_user_and_bad_arguments(graph: Graph, neo: Any) -> None:
    village(neo)
    with pytest.raises(NotFound):
        await feeds.feed(graph, "t-nobody")
    for kw in (
        {"limit": 0},
        {"limit": 101},
        {"scope": "world"},
        {"order": "random"},
        {"cursor": "%%%"},
        {"cursor": "W10"},
    ):
        with pytest.raises(Invalid):
            await feeds.feed(graph, u("me"), **kw)
    recent = await feeds.feed(graph, u("me"), limit=1)
    top = await feeds.feed(graph, u("me"), order="top", limit=1, now=T0)
    assert recent.next_cursor and top.next_cursor
    with pytest.raises(Invalid):
        await feeds.feed(graph, u("me"), order="top", cursor=recent.next_cursor)
    with pytest.raises(Invalid):
        await feeds.feed(graph, u("me"), order="recent", cursor=top.next_cursor)


# ---------------------------------------------------------------- recent, before, pages


def timeline(neo: Any) -> list[tuple[str, datetime]]:
    """Friends f0..f3 post 20 posts with many equal timestamps; returns (id, at)."""
    load_graph(neo, nx.star_graph(["me", "f0", "f1", "f2", "f3"]))
    rnd = random.Random(5)
    rows = [
        (
            f"p{i:02d}",
            f"f{rnd.randrange(4)}",
            T0 - timedelta(minutes=10 * rnd.randrange(6), microseconds=rnd.choice([0, 7])),
        )
        for i in range(20)
    ]
    posts(neo, rows)
    return [(pid, at) for pid, _, at in rows]


async def test_recent_order_before_and_pages(graph: Graph, neo: Any) -> None:
    rows = timeline(neo)
    want = [pid for pid, at in sorted(rows, key=lambda r: (T0 - r[1], r[0]))]
    full = await walk(graph, "me")
    assert ids(full) == want
    for limit in (1, 3, 7):
        assert ids(await walk(graph, "me", limit=limit)) == want
    cut = T0 - timedelta(minutes=20)
    want_before = [pid for pid in want if dict(rows)[pid] < cut]
    assert 0 < len(want_before) < len(want)
    assert ids(await walk(graph, "me", before=cut, limit=3)) == want_before
    # A naive `before` is read as UTC.
    assert ids(await walk(graph, "me", before=cut.replace(tzinfo=None))) == want_before


async def test_pages_do_not_repeat_when_nothing_changes(graph: Graph, neo: Any) -> None:
    timeline(neo)
    seen: list[str] = []
    cursor = None
    while True:
        page = await feeds.feed(graph, u("me"), limit=4, cursor=cursor)
        seen.extend(i.post.id for i in page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert len(seen) == len(set(seen)) == 20


# ---------------------------------------------------------------- top


def expected_score(age_hours: float, affinity: float, likes_: int, comments_: int) -> float:
    decay: float = 0.5 ** (max(0.0, age_hours) / feeds.HALF_LIFE_HOURS)
    return decay * (1 + affinity) * (1 + math.log(1 + likes_ + 2 * comments_))


async def test_top_is_the_documented_score_and_deterministic(graph: Graph, neo: Any) -> None:
    g = nx.Graph([("me", "a"), ("me", "b"), ("a", "x"), ("b", "x"), ("a", "y")])
    load_graph(neo, g)
    h = timedelta(hours=1)
    posts(
        neo,
        [
            ("a-new", "a", T0 - 1 * h),
            ("a-old", "a", T0 - 30 * h),
            ("b-new", "b", T0 - 2 * h),
            ("b-hot", "b", T0 - 20 * h),
            ("future", "b", T0 + 5 * h),
            ("x1", "x", T0 - 3 * h),
        ],
    )
    # me -> b affinity 1 + 2 = 3 (a like and a comment); me -> a affinity 1.
    likes(neo, [("me", "b-hot"), ("me", "a-old"), ("x", "b-hot"), ("y", "b-hot"), ("a", "x1")])
    comments(neo, [("me", "b-hot"), ("x", "b-hot"), ("y", "b-hot")])
    affinity = {"a": 1, "b": 3, "x": 0}
    meta = {
        "a-new": ("a", -1, 0, 0),
        "a-old": ("a", -30, 1, 0),
        "b-new": ("b", -2, 0, 0),
        "b-hot": ("b", -20, 3, 3),
        "future": ("b", 5, 0, 0),
        "x1": ("x", -3, 1, 0),
    }
    want = {pid: expected_score(-dh, affinity[a], lk, cm) for pid, (a, dh, lk, cm) in meta.items()}
    want_order = sorted(want, key=lambda pid: (-want[pid], pid))

    full = await walk(graph, "me", order="top", now=T0)
    assert ids(full) == want_order
    for item in full:
        assert item.score == pytest.approx(want[item.post.id], rel=1e-12)
    assert reasons(full)["x1"] == [("liked_by", "usera")]
    # Same now, same list; small pages walk the same list.
    assert ids(await walk(graph, "me", order="top", now=T0, limit=2)) == want_order
    again = await walk(graph, "me", order="top", now=T0)
    assert [i.score for i in again] == [i.score for i in full]
    # A later clock decays every score, and `before` still applies.
    later = await walk(graph, "me", order="top", now=T0 + timedelta(days=3))
    assert set(ids(later)) == set(want)
    assert all(i.score is not None and i.score < want[i.post.id] for i in later)
    before = await walk(graph, "me", order="top", now=T0, before=T0)
    assert set(ids(before)) == set(want) - {"future"}


async def test_top_cursor_keeps_the_first_pages_clock(graph: Graph, neo: Any) -> None:
    timeline(neo)
    full = await walk(graph, "me", order="top", now=T0)
    first = await feeds.feed(graph, u("me"), order="top", now=T0, limit=5)
    got = [i.post.id for i in first.items]
    cursor = first.next_cursor
    while cursor is not None:
        # A caller passing a different (or no) `now` mid-walk still gets a consistent walk.
        page = await feeds.feed(
            graph, u("me"), order="top", limit=5, cursor=cursor, now=T0 + timedelta(days=9)
        )
        got.extend(i.post.id for i in page.items)
        cursor = page.next_cursor
    assert got == ids(full)


# ---------------------------------------------------------------- hub cap


async def test_hub_cap_limits_fof_expansion(graph: Graph, neo: Any) -> None:
    g = nx.Graph([("me", "a"), ("me", "h"), ("a", "c")] + [("h", f"o{i}") for i in range(4)])
    load_graph(neo, g)
    posts(neo, [("c1", "c", T0), ("o1", "o1", T0), ("h1", "h", T0)])
    kw: dict[str, Any] = {"scope": "fof", "include_interactions": False}
    assert set(ids(await walk(graph, "me", hub_degree=NO_CAP, **kw))) == {"c1", "o1", "h1"}
    assert set(ids(await walk(graph, "me", hub_degree=4, **kw))) == {"c1", "h1"}


# ---------------------------------------------------------------- property


@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(n=st.integers(10, 30), seed=st.integers(0, 2**32 - 1))
async def test_recent_matches_a_python_model(graph: Graph, neo: Any, n: int, seed: int) -> None:
    rnd = random.Random(seed)
    g = nx.gnp_random_graph(n, 0.2, seed=seed)
    bulk.reset(neo)
    load_graph(neo, g)
    rows = [
        (f"p{i:03d}", rnd.randrange(n), T0 - timedelta(hours=rnd.randrange(48)))
        for i in range(3 * n)
    ]
    posts(neo, rows)
    liked = {(rnd.randrange(n), rnd.choice(rows)[0]) for _ in range(2 * n)}
    likes(neo, list(liked))
    me = max(g.nodes, key=lambda v: (g.degree(v), -v))
    blocked = set(rnd.sample(sorted(set(g.nodes) - {me}), 2))
    for b in blocked:
        block(neo, me, b)
    author = {pid: a for pid, a, _ in rows}
    at = {pid: t for pid, _, t in rows}
    friends = set(g[me]) - blocked
    fof = {w for f in friends for w in g[f]} - set(g[me]) - {me}

    def ok(pid: str) -> bool:
        return author[pid] != me and author[pid] not in blocked

    for scope, authors in (("friends", friends), ("fof", friends | fof)):
        for flag in (False, True):
            want = {pid for pid in at if author[pid] in authors and ok(pid)}
            if flag:
                want |= {pid for who, pid in liked if who in friends and ok(pid)}
            want_order = sorted(want, key=lambda pid: (T0 - at[pid], pid))
            got = await walk(
                graph, str(me), scope=scope, include_interactions=flag, limit=7, hub_degree=NO_CAP
            )
            assert ids(got) == want_order, (scope, flag)
