"""Bulk loaders store each friendship once, whatever the input order; re-runs change nothing."""

from __future__ import annotations

from typing import Any

import networkx as nx

from seeds import bulk
from tests.graphs import load_graph, user_id


def counts(neo: Any) -> tuple[int, int]:
    recs, _, _ = neo.execute_query(
        "MATCH (u:User) WITH count(u) AS users "
        "OPTIONAL MATCH ()-[f:FRIENDS]->() RETURN users, count(f) AS friendships"
    )
    return recs[0]["users"], recs[0]["friendships"]


def test_friendships_stored_once_and_idempotent(neo: Any) -> None:
    g = nx.powerlaw_cluster_graph(60, 3, 0.3, seed=7)
    load_graph(neo, g)
    assert counts(neo) == (60, g.number_of_edges())
    # Reversed pairs and a re-run add nothing.
    bulk.friendships(neo, [{"a": user_id(b), "b": user_id(a)} for a, b in g.edges])
    load_graph(neo, g)
    assert counts(neo) == (60, g.number_of_edges())
    recs, _, _ = neo.execute_query(
        "MATCH (a:User)-[f:FRIENDS]->(b:User) "
        "WHERE NOT (a.id < b.id AND f.pair = a.id + '|' + b.id) "
        "RETURN count(f) AS bad"
    )
    assert recs[0]["bad"] == 0
