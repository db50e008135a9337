"""The cold-start "popular" tier draws from a bounded pool of the most-friended users,
computed once and shared (it scans every user's degree), while each page applies its own
exclusions and current degrees."""

from __future__ import annotations

from typing import Any

import httpx
import networkx as nx

from core.config import Settings
from graph import recommend
from graph.db import Graph
from tests.factories import token_headers
from tests.graphs import load_graph, user_id
from tests.test_cache import queries
from tests.test_recommend import all_pages, block, graph  # noqa: F401 - the fixture


def star_graph() -> nx.Graph:
    """Hubs h0..h4 with 5, 4, 3, 2, 1 leaves each; lonely users a, b, c have no friends."""
    g = nx.Graph()
    for h in range(5):
        for leaf in range(5 - h):
            g.add_edge(f"h{h}", f"h{h}l{leaf}")
    g.add_nodes_from(["a", "b", "c"])
    return g


async def test_pool_is_the_top_n_by_degree(graph: Graph, neo: Any) -> None:  # noqa: F811
    g = star_graph()
    g.add_edge("h4", "hidden")
    load_graph(neo, g, discoverable={"h1": False})
    want = sorted((n for n in g.nodes if n != "h1"), key=lambda n: (-g.degree(n), user_id(n)))[:3]
    assert await recommend.popular_ids(graph, n=3) == [user_id(n) for n in want]


async def test_cold_start_ranks_the_pool_with_exclusions_and_current_degrees(
    graph: Graph,  # noqa: F811
    neo: Any,
) -> None:
    g = star_graph()
    load_graph(neo, g)
    block(neo, user_id("h0"), user_id("a"))
    pool = [user_id(n) for n in ("h3", "h0", "h2", "a")]  # an older pool, in any order

    async def given_pool() -> list[str]:
        return pool

    page = await all_pages(graph, user_id("a"), popular=given_pool)
    # h0 blocked me and I am not my own suggestion; the rest ranked by degree now.
    assert [(s.user.id, s.score, s.reason) for s in page] == [
        (user_id("h2"), 3.0, "popular"),
        (user_id("h3"), 2.0, "popular"),
    ]


async def test_the_pool_is_computed_once_for_many_new_users(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    load_graph(neo, star_graph())
    before = queries("recommend.popular_ids")
    for name in ("a", "b", "c"):
        headers = token_headers(settings, user_id(name))
        r = await client.get("/v1/suggestions", headers=headers)
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        assert items[0]["user"]["id"] == user_id("h0") and items[0]["reason"] == "popular"
        assert user_id(name) not in [s["user"]["id"] for s in items]
    assert queries("recommend.popular_ids") - before == 1
