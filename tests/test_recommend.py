"""Friend suggestions against the real Neo4j.

Property tests: on random graphs the Cypher scores equal networkx's link-prediction
functions and the candidate set equals the distance-2 nodes minus the exclusions.
Example tests: each exclusion, dismissal, cold start, hub cap, cursors.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.config import Settings
from core.errors import Invalid, NotFound
from graph import recommend
from graph.db import Graph, open_async_driver
from graph.recommend import ALGORITHMS, Algorithm, Suggestion
from graph.schema import migrate
from seeds import bulk
from tests.graphs import load_graph, user_id

NX_SCORE: dict[Algorithm, Callable[..., Iterable[tuple[Any, Any, float]]]] = {
    "common_neighbors": lambda g, pairs: (
        (u, v, len(list(nx.common_neighbors(g, u, v)))) for u, v in pairs
    ),
    "adamic_adar": nx.adamic_adar_index,
    "resource_allocation": nx.resource_allocation_index,
    "jaccard": nx.jaccard_coefficient,
}

NO_CAP = 1_000_000


@pytest.fixture(scope="module")
async def graph(settings: Settings) -> AsyncIterator[Graph]:
    driver = await open_async_driver(settings)
    await migrate(driver, settings.neo4j_database)  # the unique-id constraints the plans use
    yield Graph(driver, settings.neo4j_database, settings.neo4j_query_timeout)
    await driver.close()


# Test-only setup for the edges this module reads but does not write.


def request(neo: Any, a: str, b: str, status: str = "pending") -> None:
    neo.execute_query(
        "MATCH (a:User {id: $a}), (b:User {id: $b}) "
        "MERGE (a)-[r:REQUESTED {key: $a + '|' + $b}]->(b) "
        "SET r.status = $status, r.created_at = datetime(), r.updated_at = datetime()",
        a=a,
        b=b,
        status=status,
    )


def block(neo: Any, a: str, b: str) -> None:
    neo.execute_query(
        "MATCH (a:User {id: $a}), (b:User {id: $b}) "
        "MERGE (a)-[r:BLOCKED]->(b) SET r.at = datetime()",
        a=a,
        b=b,
    )


def dismissed(neo: Any, a: str, b: str) -> None:
    neo.execute_query(
        "MATCH (a:User {id: $a}), (b:User {id: $b}) "
        "MERGE (a)-[r:DISMISSED]->(b) SET r.at = datetime()",
        a=a,
        b=b,
    )


def count_rels(neo: Any, rel_type: str) -> int:
    # rel_type comes from this file's literals only (test helper).
    recs, _, _ = neo.execute_query(
        "MATCH ()-[r]->() WHERE type(r) = $t RETURN count(r) AS n", t=rel_type
    )
    return int(recs[0]["n"])


async def all_pages(graph: Graph, me: str, *, limit: int = 100, **kw: Any) -> list[Suggestion]:
    out: list[Suggestion] = []
    cursor: str | None = None
    for _ in range(1000):
        page = await recommend.suggest(graph, me, limit=limit, cursor=cursor, **kw)
        assert len(page.items) <= limit
        out.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return out
        assert len(page.items) == limit  # a next cursor only after a full page
    raise AssertionError("pagination did not terminate")


def ids(items: Iterable[Suggestion]) -> list[str]:
    return [s.user.id for s in items]


# ---------------------------------------------------------------- properties

EXCLUSIONS = (
    "pending_out",
    "pending_in",
    "blocked_out",
    "blocked_in",
    "dismissed",
    # These must NOT exclude: non-pending requests, and a dismissal by the other side.
    "declined_out",
    "accepted_in",
    "cancelled_in",
    "dismissed_by_them",
)
EXCLUDING = {"pending_out", "pending_in", "blocked_out", "blocked_in", "dismissed"}


def random_graph(kind: str, n: int, seed: int) -> nx.Graph:
    if kind == "gnp":
        return nx.gnp_random_graph(n, 0.15, seed=seed)
    return nx.powerlaw_cluster_graph(n, 2, 0.3, seed=seed)


def relate(neo: Any, kind: str, a: str, b: str) -> None:
    """Create the relationship `kind` names, seen from a (me) towards b."""
    match kind:
        case "pending_out":
            request(neo, a, b)
        case "pending_in":
            request(neo, b, a)
        case "declined_out":
            request(neo, a, b, "declined")
        case "accepted_in":
            request(neo, b, a, "accepted")
        case "cancelled_in":
            request(neo, b, a, "cancelled")
        case "blocked_out":
            block(neo, a, b)
        case "blocked_in":
            block(neo, b, a)
        case "dismissed":
            dismissed(neo, a, b)
        case "dismissed_by_them":
            dismissed(neo, b, a)
        case _:
            raise AssertionError(kind)


def excludes(kind: str, me: int, a: int, b: int) -> bool:
    """Whether relationship `kind` created from a towards b hides b from me (or a from me)."""
    if kind in ("pending_out", "pending_in", "blocked_out", "blocked_in"):
        return me in (a, b)  # symmetric
    if kind == "dismissed":
        return me == a
    if kind == "dismissed_by_them":
        return me == b
    return False


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kind=st.sampled_from(["gnp", "powerlaw"]), n=st.integers(10, 40), seed=st.integers(0, 2**32 - 1)
)
async def test_scores_and_candidates_match_networkx(
    graph: Graph, neo: Any, kind: str, n: int, seed: int
) -> None:
    g = random_graph(kind, n, seed)
    rnd = random.Random(seed)
    hidden = {v for v in g.nodes if rnd.random() < 0.15}
    bulk.reset(neo)
    load_graph(neo, g, discoverable={v: v not in hidden for v in g.nodes})

    # A few random relationships from each chosen user to other nodes, at most one per pair.
    users = rnd.sample(sorted(g.nodes), 3)
    rels: list[tuple[str, int, int]] = []
    used: set[frozenset[int]] = set()
    for u in users:
        for v in rnd.sample(sorted(set(g.nodes) - {u}), 6):
            if frozenset((u, v)) not in used:
                used.add(frozenset((u, v)))
                rels.append((rnd.choice(EXCLUSIONS), u, v))
    for k, a, b in rels:
        relate(neo, k, user_id(a), user_id(b))

    for u in users:
        me = user_id(u)
        dist2 = {
            v
            for v in g.nodes
            if v != u and not g.has_edge(u, v) and any(True for _ in nx.common_neighbors(g, u, v))
        }
        excluded = {v for v in dist2 if v in hidden}
        excluded |= {b if a == u else a for k, a, b in rels if excludes(k, u, a, b)}
        # Mutual friends blocked with me are named nowhere but still count in the score.
        blocked_with_me = {
            b if a == u else a
            for k, a, b in rels
            if k in ("blocked_out", "blocked_in") and u in (a, b)
        }
        expected = dist2 - excluded

        if g.degree(u) == 0:  # cold start: everyone not excluded, requesters first
            cold = await all_pages(graph, me, limit=7)
            requesters = {b for k, a, b in rels if a == u and k == "pending_in"} - hidden
            others = (
                set(g.nodes)
                - {u}
                - hidden
                - requesters
                - {b if a == u else a for k, a, b in rels if excludes(k, u, a, b)}
            )
            want_cold = sorted(requesters, key=lambda v: (-g.degree(v), user_id(v))) + sorted(
                others, key=lambda v: (-g.degree(v), user_id(v))
            )
            assert [(s.user.id, s.score) for s in cold] == [
                (user_id(v), float(g.degree(v))) for v in want_cold
            ]
            assert [s.reason for s in cold] == (
                ["requested_you"] * len(requesters) + ["popular"] * len(others)
            )
            continue

        for algorithm in ALGORITHMS:
            got = await all_pages(graph, me, algorithm=algorithm, hub_degree=NO_CAP)
            assert len(set(ids(got))) == len(got)
            assert set(ids(got)) == {user_id(v) for v in expected}, algorithm
            want = {user_id(v): s for _, v, s in NX_SCORE[algorithm](g, [(u, v) for v in expected])}
            for s in got:
                assert s.score == pytest.approx(want[s.user.id], abs=1e-9, rel=0), (algorithm, s)
                v = int(s.user.id.removeprefix("t-"))
                common = set(nx.common_neighbors(g, u, v))
                assert s.mutual_count == len(common)
                named = sorted(user_id(z) for z in common - blocked_with_me)[:3]
                assert [m.id for m in s.mutual_friends] == named
                assert s.reason == "mutual_friends"
            # score desc, then id asc
            keys = [(-s.score, s.user.id) for s in got]
            assert keys == sorted(keys)

        # Small pages walk the same list.
        full = await all_pages(graph, me, algorithm="common_neighbors", hub_degree=NO_CAP)
        paged = await all_pages(graph, me, algorithm="common_neighbors", hub_degree=NO_CAP, limit=3)
        assert ids(paged) == ids(full)


# ---------------------------------------------------------------- exclusions


def star(neo: Any) -> None:
    """me - f - c, me - f - x; c is the candidate, x a control candidate."""
    g = nx.Graph([("me", "f"), ("f", "c"), ("f", "x")])
    load_graph(neo, g)


ME, F, C, X = user_id("me"), user_id("f"), user_id("c"), user_id("x")


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize(
    "exclusion",
    [
        "friend",
        "pending_out",
        "pending_in",
        "blocked_out",
        "blocked_in",
        "dismissed",
        "not_discoverable",
    ],
)
async def test_each_exclusion(graph: Graph, neo: Any, algorithm: Algorithm, exclusion: str) -> None:
    star(neo)
    assert set(ids(await all_pages(graph, ME, algorithm=algorithm))) == {C, X}
    match exclusion:
        case "friend":
            bulk.friendships(neo, [{"a": ME, "b": C}])
        case "pending_out":
            request(neo, ME, C)
        case "pending_in":
            request(neo, C, ME)
        case "blocked_out":
            block(neo, ME, C)
        case "blocked_in":
            block(neo, C, ME)
        case "dismissed":
            await recommend.dismiss(graph, ME, C)
        case "not_discoverable":
            neo.execute_query("MATCH (u:User {id: $id}) SET u.discoverable = false", id=C)
    assert ids(await all_pages(graph, ME, algorithm=algorithm)) == [X]


@pytest.mark.parametrize("status", ["accepted", "declined", "cancelled"])
async def test_non_pending_requests_do_not_exclude(graph: Graph, neo: Any, status: str) -> None:
    star(neo)
    request(neo, ME, C, status)
    request(neo, X, ME, status)
    assert set(ids(await all_pages(graph, ME))) == {C, X}


async def test_dismissal_is_mine_alone(graph: Graph, neo: Any) -> None:
    # me - f - c and y - f: y also has c (and me) as candidates.
    load_graph(neo, nx.Graph([("me", "f"), ("f", "c"), ("f", "y")]))
    y = user_id("y")
    await recommend.dismiss(graph, ME, C)
    await recommend.dismiss(graph, ME, C)  # idempotent
    assert count_rels(neo, "DISMISSED") == 1
    assert C not in ids(await all_pages(graph, ME))
    assert set(ids(await all_pages(graph, y))) == {ME, C}
    assert set(ids(await all_pages(graph, C))) == {ME, y}  # c still sees me


async def test_dismiss_errors(graph: Graph, neo: Any) -> None:
    star(neo)
    with pytest.raises(Invalid):
        await recommend.dismiss(graph, ME, ME)
    with pytest.raises(NotFound):
        await recommend.dismiss(graph, ME, "t-nobody")
    with pytest.raises(NotFound):
        await recommend.dismiss(graph, "t-nobody", ME)
    assert count_rels(neo, "DISMISSED") == 0


async def test_blocked_mutual_friend_is_counted_but_not_named(graph: Graph, neo: Any) -> None:
    g = nx.Graph([("me", z) for z in "abcd"] + [(z, "c0") for z in "abcd"])
    load_graph(neo, g)
    block(neo, user_id("b"), ME)
    [s] = await all_pages(graph, ME, algorithm="common_neighbors")
    assert s.user.id == user_id("c0")
    assert s.score == 4 and s.mutual_count == 4
    assert [m.id for m in s.mutual_friends] == [user_id("a"), user_id("c"), user_id("d")]
    assert s.mutual_friends[0].handle == "usera"
    assert s.mutual_friends[0].display_name == "User a"


async def test_unknown_user_bad_limit_bad_algorithm(graph: Graph, neo: Any) -> None:
    star(neo)
    with pytest.raises(NotFound):
        await recommend.suggest(graph, "t-nobody")
    for limit in (0, 101):
        with pytest.raises(Invalid):
            await recommend.suggest(graph, ME, limit=limit)
    with pytest.raises(Invalid):
        await recommend.suggest(graph, ME, algorithm="pagerank")  # type: ignore[arg-type]


# ---------------------------------------------------------------- hub cap


async def test_hub_cap_skips_hub_expansion_but_keeps_scores_exact(graph: Graph, neo: Any) -> None:
    # h is a hub (degree 6). c is reachable through a and h; only-h candidates are lost.
    g = nx.Graph(
        [("me", "a"), ("me", "h"), ("a", "c"), ("h", "c")] + [("h", f"o{i}") for i in range(4)]
    )
    load_graph(neo, g)
    uncapped = await all_pages(graph, ME, algorithm="adamic_adar", hub_degree=NO_CAP)
    assert set(ids(uncapped)) == {user_id("c")} | {user_id(f"o{i}") for i in range(4)}
    capped = await all_pages(graph, ME, algorithm="adamic_adar", hub_degree=5)
    assert ids(capped) == [user_id("c")]
    [(_, _, want)] = nx.adamic_adar_index(g, [("me", "c")])
    assert capped[0].score == pytest.approx(want, abs=1e-12)
    assert capped[0].mutual_count == 2
    # The default cap does not bind on small graphs.
    assert ids(await all_pages(graph, ME, algorithm="adamic_adar")) == ids(uncapped)


async def test_hub_cap_matches_networkx_on_hub_heavy_graphs(graph: Graph, neo: Any) -> None:
    """With hubs present and pages smaller than the candidate list, the ranked list equals
    the textbook one: candidates reachable through a friend of degree <= cap, scored over
    all common neighbours (hubs included), ordered by score desc then id. This is the path
    where hub tests are pruned by score bounds before a page is cut."""
    g = nx.barabasi_albert_graph(120, 3, seed=5)  # preferential attachment: a few hubs
    load_graph(neo, g)
    rng = random.Random(5)
    cap = 12
    assert sum(1 for v in g if g.degree(v) > cap) >= 5
    hubby = [u for u in g if any(g.degree(z) > cap for z in g[u])]
    for u in rng.sample(hubby, 6):
        me = user_id(u)
        reach = {
            v for z in g[u] if g.degree(z) <= cap for v in g[z] if v != u and not g.has_edge(u, v)
        }
        for algorithm in ALGORITHMS:
            want = sorted(
                ((-s, user_id(v)) for _, v, s in NX_SCORE[algorithm](g, [(u, v) for v in reach])),
            )
            for limit in (1, 3, 100):
                got = await all_pages(graph, me, algorithm=algorithm, hub_degree=cap, limit=limit)
                assert ids(got) == [v for _, v in want], (algorithm, u, limit)
                for s, (neg, _) in zip(got, want, strict=True):
                    assert s.score == pytest.approx(-neg, abs=1e-9, rel=0)


# ---------------------------------------------------------------- cursors


async def test_cursor_walk_with_ties_is_stable(graph: Graph, neo: Any) -> None:
    g = nx.powerlaw_cluster_graph(40, 3, 0.2, seed=11)
    load_graph(neo, g)
    me = user_id(0)
    for algorithm in ALGORITHMS:
        full = await all_pages(graph, me, algorithm=algorithm, limit=100)
        assert len(full) > 6
        paged = await all_pages(graph, me, algorithm=algorithm, limit=3)
        assert ids(paged) == ids(full)
        assert [s.score for s in paged] == [s.score for s in full]
        again = await all_pages(graph, me, algorithm=algorithm, limit=3)
        assert ids(again) == ids(paged)


async def test_bad_cursors(graph: Graph, neo: Any) -> None:
    load_graph(neo, nx.star_graph(6))  # 0 is the centre
    page = await recommend.suggest(graph, user_id(1), algorithm="jaccard", limit=2)
    assert page.next_cursor is not None
    for bad in ("garbage!", "", "eyJ4IjoxfQ", page.next_cursor[:-3]):
        with pytest.raises(Invalid):
            await recommend.suggest(graph, user_id(1), algorithm="jaccard", cursor=bad)
    with pytest.raises(Invalid):  # a cursor from another algorithm's list
        await recommend.suggest(graph, user_id(1), algorithm="adamic_adar", cursor=page.next_cursor)


# ---------------------------------------------------------------- cold start


async def test_cold_start_requested_then_popular(graph: Graph, neo: Any) -> None:
    # Users without friends: me. Popularity = degree.
    g = nx.Graph(
        [
            ("p1", "q1"),
            ("p1", "q2"),
            ("p1", "q3"),
            ("p2", "q1"),
            ("p2", "q2"),
            ("r1", "q1"),
            ("r2", "q1"),
            ("r2", "q2"),
            ("r2", "q3"),
            ("r2", "q4"),
        ]
    )
    g.add_nodes_from(["me", "zero", "hidden_requester", "blocked", "dismissed_u", "sent"])
    load_graph(neo, g, discoverable={"hidden_requester": False})
    u = user_id
    request(neo, u("r1"), ME)
    request(neo, u("r2"), ME)
    request(neo, u("hidden_requester"), ME)
    request(neo, u("q4"), ME, "declined")  # not pending: plain popular user
    request(neo, ME, u("sent"))
    block(neo, u("blocked"), ME)
    dismissed(neo, ME, u("dismissed_u"))

    full = await all_pages(graph, ME)
    assert [(s.user.id, s.reason, s.score) for s in full] == [
        (u("r2"), "requested_you", 4.0),
        (u("r1"), "requested_you", 1.0),
        (u("q1"), "popular", 4.0),
        (u("p1"), "popular", 3.0),
        (u("q2"), "popular", 3.0),
        (u("p2"), "popular", 2.0),
        (u("q3"), "popular", 2.0),
        (u("q4"), "popular", 1.0),
        (u("zero"), "popular", 0.0),
    ]
    assert all(s.mutual_count == 0 and s.mutual_friends == [] for s in full)
    for limit in (1, 2, 3):
        assert ids(await all_pages(graph, ME, limit=limit)) == ids(full)
    # Cold-start cursors and ranked cursors do not mix.
    page = await recommend.suggest(graph, ME, limit=2)
    assert page.next_cursor is not None
    bulk.friendships(neo, [{"a": ME, "b": u("q1")}])
    with pytest.raises(Invalid):
        await recommend.suggest(graph, ME, cursor=page.next_cursor)
    # With a friend, the ranked list takes over.
    ranked = await all_pages(graph, ME)
    assert [(s.user.id, s.reason) for s in ranked] == [
        (u("p1"), "mutual_friends"),
        (u("p2"), "mutual_friends"),
    ]
