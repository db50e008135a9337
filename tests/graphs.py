"""Test helpers: put a networkx graph into Neo4j through the real bulk loaders."""

from __future__ import annotations

from typing import Any

import networkx as nx

from seeds import bulk


def user_id(n: Any) -> str:
    return f"t-{n}"


def load_graph(driver: Any, g: nx.Graph, discoverable: dict[Any, bool] | None = None) -> None:
    discoverable = discoverable or {}
    bulk.users(
        driver,
        [
            {
                "id": user_id(n),
                "handle": f"user{n}",
                "display_name": f"User {n}",
                "discoverable": discoverable.get(n, True),
                "source": "test",
                "source_id": str(n),
            }
            for n in g.nodes
        ],
    )
    bulk.friendships(driver, [{"a": user_id(a), "b": user_id(b)} for a, b in g.edges if a != b])
