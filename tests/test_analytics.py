"""The analytics catalog agrees with networkx on graphs loaded from networkx generators,
every catalog query runs and returns JSON-safe rows, and bad names and parameters
fail with errors that say what is wrong."""

from __future__ import annotations

import json
import statistics
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from itertools import combinations, pairwise
from random import Random
from typing import Any

import networkx as nx
import pytest

from core.config import Settings
from core.errors import Invalid, QueryRejected
from graph.analytics import (
    UnknownQuery,
    coerce_params,
    ego_query_name,
    list_catalog,
    run_named,
)
from graph.db import Graph, open_async_driver
from seeds import bulk
from tests.graphs import load_graph, user_id

REQUIRED = {
    "degree_distribution", "most_connected", "ego_network_1", "ego_network_2",
    "local_clustering", "triangles_count", "friendship_growth", "interaction_activity",
    "mutual_friend_count", "shortest_path",
}  # fmt: skip


@pytest.fixture(scope="session")
async def agraph(settings: Settings, stack: Settings) -> AsyncIterator[Graph]:
    driver = await open_async_driver(settings)
    yield Graph(driver, settings.neo4j_database)
    await driver.close()


def sample_graph() -> nx.Graph:
    """Clustered scale-free part, a separate path component and two isolated users."""
    g = nx.powerlaw_cluster_graph(50, 3, 0.6, seed=11)
    g.add_edges_from([(100, 101), (101, 102), (102, 103)])
    g.add_nodes_from([200, 201])
    return g


@pytest.fixture
def g(neo: Any) -> nx.Graph:
    graph = sample_graph()
    load_graph(neo, graph)
    return graph


def node_of(uid: str) -> int:
    return int(uid.removeprefix("t-"))


async def rows(agraph: Graph, name: str, **params: Any) -> list[dict[str, Any]]:
    result = await run_named(agraph, name, params)
    assert not result.truncated
    return result.rows


# ------------------------------------------------------------------ catalog


def test_catalog_has_the_required_queries_documented() -> None:
    entries = {e.name: e for e in list_catalog()}
    assert REQUIRED <= set(entries)
    for e in entries.values():
        assert e.description and e.returns, e.name
    assert entries["most_connected"].params == ["limit"]
    assert entries["most_connected"].defaults == {"limit": 20}
    assert entries["shortest_path"].params == ["other_id", "user_id"]
    # internal export pages are not part of the analysts' listing
    assert not any(name.startswith("export") for name in entries)


PARAMS = {"user_id": "t-0", "other_id": "t-1", "limit": 5, "unit": "day", "handle": "user0"}


@pytest.mark.parametrize("name", [e.name for e in list_catalog()])
async def test_every_catalog_query_runs_and_is_json_safe(
    agraph: Graph, g: nx.Graph, name: str
) -> None:
    entry = next(e for e in list_catalog() if e.name == name)
    result = await run_named(agraph, name, {p: PARAMS[p] for p in entry.params})
    assert result.columns
    json.dumps(result.rows, allow_nan=False)


# ------------------------------------------------------------------ degrees


async def test_degree_distribution_matches_degree_histogram(agraph: Graph, g: nx.Graph) -> None:
    got = {r["degree"]: r["users"] for r in await rows(agraph, "degree_distribution")}
    histogram = [got.get(d, 0) for d in range(max(got) + 1)]
    assert histogram == nx.degree_histogram(g)
    assert got[0] == 2  # the isolated users are counted


async def test_most_connected_matches_networkx(agraph: Graph, g: nx.Graph) -> None:
    got = await rows(agraph, "most_connected", limit=7)
    expected = sorted(g.degree, key=lambda nd: (-nd[1], f"user{nd[0]}"))[:7]
    assert [(node_of(r["id"]), r["degree"]) for r in got] == expected
    assert got[0]["handle"] == f"user{expected[0][0]}"


async def test_most_connected_default_limit(agraph: Graph, g: nx.Graph) -> None:
    assert len(await rows(agraph, "most_connected")) == 20


async def test_degree_stats_and_summary(agraph: Graph, g: nx.Graph) -> None:
    degrees = [d for _, d in g.degree]
    (stats,) = await rows(agraph, "degree_stats")
    assert stats["users"] == g.number_of_nodes()
    assert stats["mean"] == pytest.approx(statistics.fmean(degrees))
    assert stats["stdev"] == pytest.approx(statistics.pstdev(degrees))
    assert stats["max"] == max(degrees)
    assert stats["isolated"] == 2
    assert stats["median"] <= stats["p90"] <= stats["p99"] <= stats["max"]
    (summary,) = await rows(agraph, "graph_summary")
    assert summary["users"] == g.number_of_nodes()
    assert summary["friendships"] == g.number_of_edges()
    assert summary["avg_degree"] == pytest.approx(statistics.fmean(degrees))
    assert summary["density"] == pytest.approx(nx.density(g))


async def test_find_user_is_case_insensitive(agraph: Graph, g: nx.Graph) -> None:
    (row,) = await rows(agraph, "find_user", handle="USER7")
    assert row["id"] == user_id(7)
    assert row["degree"] == g.degree[7]
    assert await rows(agraph, "find_user", handle="nobody") == []


# ------------------------------------------------------------------ triangles


async def test_triangles_and_local_clustering_match_networkx(agraph: Graph, g: nx.Graph) -> None:
    triangles = nx.triangles(g)
    clustering = nx.clustering(g)
    assert sum(triangles.values()) > 0
    for n in g.nodes:
        (t,) = await rows(agraph, "triangles_count", user_id=user_id(n))
        assert t["triangles"] == triangles[n], n
        (c,) = await rows(agraph, "local_clustering", user_id=user_id(n))
        assert c["degree"] == g.degree[n]
        assert c["triangles"] == triangles[n]
        assert c["clustering"] == pytest.approx(clustering[n]), n


async def test_transitivity_matches_networkx(agraph: Graph, g: nx.Graph) -> None:
    (row,) = await rows(agraph, "transitivity")
    assert row["triangles"] == sum(nx.triangles(g).values()) // 3
    assert row["transitivity"] == pytest.approx(nx.transitivity(g))


async def test_unknown_user_returns_no_row(agraph: Graph, g: nx.Graph) -> None:
    assert await rows(agraph, "local_clustering", user_id="t-missing") == []
    assert await rows(agraph, "ego_network_1", user_id="t-missing") == []


# ------------------------------------------------------------------ pairs


def sample_pairs(g: nx.Graph, k: int = 40) -> list[tuple[int, int]]:
    pairs = list(combinations(sorted(g.nodes), 2))
    return [*Random(5).sample(pairs, k), (0, 1), (0, 100), (100, 103), (200, 201)]


async def test_shortest_path_matches_networkx(agraph: Graph, g: nx.Graph) -> None:
    for a, b in [*sample_pairs(g), (3, 3)]:
        (row,) = await rows(agraph, "shortest_path", user_id=user_id(a), other_id=user_id(b))
        if not nx.has_path(g, a, b):
            assert row == {"length": None, "handles": None, "ids": None}
            continue
        assert row["length"] == nx.shortest_path_length(g, a, b), (a, b)
        path = [node_of(i) for i in row["ids"]]
        assert path[0] == a and path[-1] == b
        assert all(g.has_edge(x, y) for x, y in pairwise(path))
        assert row["handles"] == [f"user{n}" for n in path]


async def test_mutual_friends_match_common_neighbors(agraph: Graph, g: nx.Graph) -> None:
    for a, b in sample_pairs(g):
        common = set(nx.common_neighbors(g, a, b))
        (row,) = await rows(agraph, "mutual_friend_count", user_id=user_id(a), other_id=user_id(b))
        assert row["mutual_friends"] == len(common), (a, b)
        assert row["are_friends"] == g.has_edge(a, b)
        listed = await rows(
            agraph, "mutual_friends", user_id=user_id(a), other_id=user_id(b), limit=1000
        )
        assert {node_of(r["id"]) for r in listed} == common


async def test_reach_counts_distance_one_and_two(agraph: Graph, g: nx.Graph) -> None:
    for n in [0, 5, 17, 100, 200]:
        dist = nx.single_source_shortest_path_length(g, n, cutoff=2)
        (row,) = await rows(agraph, "reach", user_id=user_id(n))
        assert row["friends"] == sum(1 for d in dist.values() if d == 1)
        assert row["friends_of_friends"] == sum(1 for d in dist.values() if d == 2)


# ------------------------------------------------------------------ ego networks


@pytest.mark.parametrize("depth", [1, 2, 3])
async def test_ego_network_matches_ego_graph(agraph: Graph, g: nx.Graph, depth: int) -> None:
    for center in [0, 9, 33, 101, 200]:
        (row,) = await rows(agraph, ego_query_name(depth).split(".")[1], user_id=user_id(center))
        expected = nx.ego_graph(g, center, radius=depth)
        assert row["center"] == user_id(center)
        assert {node_of(n["id"]) for n in row["nodes"]} == set(expected.nodes)
        got_edges = {frozenset((node_of(e["source"]), node_of(e["target"]))) for e in row["edges"]}
        assert len(got_edges) == len(row["edges"])  # each friendship once
        assert got_edges == {frozenset(e) for e in expected.edges}


def test_ego_depth_outside_files_is_invalid() -> None:
    with pytest.raises(Invalid, match="depth must be 1, 2 or 3"):
        ego_query_name(4)


# ------------------------------------------------------------------ activity over time


def day(n: int, hour: int = 12) -> datetime:
    return datetime(2024, 1, 30, hour, tzinfo=UTC) + timedelta(days=n)


async def test_friendship_and_signup_growth(agraph: Graph, neo: Any) -> None:
    bulk.users(neo, [
        {"id": user_id(i), "handle": f"user{i}", "created_at": day(i // 2), "source": "test",
         "source_id": str(i)}
        for i in range(6)
    ])  # fmt: skip
    # 3 on Jan 30, 1 on Jan 31 (late in the day), 2 on Feb 2
    when = [day(0), day(0, 1), day(0, 23), day(1, 23), day(3), day(3)]
    pairs = [(0, 1), (0, 2), (0, 3), (1, 2), (4, 5), (3, 4)]
    rows_in = [
        {"a": user_id(a), "b": user_id(b), "since": t}
        for (a, b), t in zip(pairs, when, strict=True)
    ]
    bulk.friendships(neo, rows_in)
    daily = await rows(agraph, "friendship_growth", unit="day")
    assert [(r["period"], r["created"], r["cumulative"]) for r in daily] == [
        ("2024-01-30", 3, 3), ("2024-01-31", 1, 4), ("2024-02-02", 2, 6),
    ]  # fmt: skip
    monthly = await rows(agraph, "friendship_growth", unit="month")
    assert [(r["period"], r["created"], r["cumulative"]) for r in monthly] == [
        ("2024-01-01", 4, 4), ("2024-02-01", 2, 6),
    ]  # fmt: skip
    signups = await rows(agraph, "signup_growth", unit="day")
    assert [(r["period"], r["created"]) for r in signups] == [
        ("2024-01-30", 2), ("2024-01-31", 2), ("2024-02-01", 2),
    ]  # fmt: skip
    assert signups[-1]["cumulative"] == 6


async def test_interaction_activity_and_popularity(agraph: Graph, neo: Any) -> None:
    load_graph(neo, nx.path_graph(4))
    bulk.posts(neo, [
        {"id": "p1", "author_id": user_id(0), "text": "hello", "created_at": day(0)},
        {"id": "p2", "author_id": user_id(1), "text": "again", "created_at": day(1)},
    ])  # fmt: skip
    bulk.likes(neo, [
        {"user_id": user_id(1), "post_id": "p1", "at": day(0)},
        {"user_id": user_id(2), "post_id": "p1", "at": day(1)},
        {"user_id": user_id(3), "post_id": "p1", "at": day(1)},
        {"user_id": user_id(0), "post_id": "p2", "at": day(1)},
    ])  # fmt: skip
    bulk.comments(neo, [
        {"id": "c1", "user_id": user_id(2), "post_id": "p1", "text": "hi", "created_at": day(1)},
    ])  # fmt: skip
    activity = await rows(agraph, "interaction_activity", unit="day")
    assert [(r["period"], r["posts"], r["likes"], r["comments"]) for r in activity] == [
        ("2024-01-30", 1, 1, 0), ("2024-01-31", 1, 3, 1),
    ]  # fmt: skip
    liked = await rows(agraph, "most_liked_posts", limit=1)
    assert liked[0]["post_id"] == "p1" and liked[0]["like_count"] == 3
    assert liked[0]["author_handle"] == "user0" and liked[0]["comment_count"] == 1
    top = await rows(agraph, "top_interactions", limit=2)
    assert (top[0]["from_handle"], top[0]["to_handle"], top[0]["weight"]) == ("user2", "user0", 3)
    assert top[0]["are_friends"] is False


# ------------------------------------------------------------------ errors and params


async def test_unknown_query_lists_available(agraph: Graph) -> None:
    with pytest.raises(UnknownQuery, match=r"available: .*degree_distribution"):
        await run_named(agraph, "degree_distributions", {})


async def test_missing_and_unknown_params_are_named(agraph: Graph) -> None:
    with pytest.raises(Invalid, match="missing parameter 'user_id'"):
        await run_named(agraph, "triangles_count", {})
    with pytest.raises(Invalid, match="unknown parameter 'depth'"):
        await run_named(agraph, "triangles_count", {"user_id": "t-1", "depth": 2})


async def test_bad_values_are_rejected_by_neo4j(agraph: Graph, g: nx.Graph) -> None:
    with pytest.raises(QueryRejected):
        await run_named(agraph, "friendship_growth", {"unit": "fortnight"})
    with pytest.raises(QueryRejected):
        await run_named(agraph, "most_connected", {"limit": "ten"})


async def test_qualified_name_and_row_cap(agraph: Graph, g: nx.Graph) -> None:
    result = await run_named(agraph, "analytics.most_connected", {"limit": 10}, row_cap=4)
    assert len(result.rows) == 4 and result.truncated


def test_coerce_params_rules() -> None:
    assert coerce_params(
        {"limit": "5", "ratio": "0.5", "flag": "true", "none": "null", "ids": '["a", 1]',
         "user_id": "12345", "handle": "007", "unit": "day", "word": "day", "quoted": '"5"'}
    ) == {
        "limit": 5, "ratio": 0.5, "flag": True, "none": None, "ids": ["a", 1],
        "user_id": "12345", "handle": "007", "unit": "day", "word": "day", "quoted": "5",
    }  # fmt: skip
