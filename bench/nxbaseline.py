"""Friend suggestions computed by networkx in memory, for comparison with the Cypher path.

Same definition as `queries/recommend/adamic_adar.cypher` (docs/recommendations.md):
candidates are friends of friends reached through friends of degree <= hub_degree,
minus me and my friends; the score is `nx.adamic_adar_index` over the whole graph;
order score desc, then id asc. The other exclusions (blocks, pending requests,
dismissals, non-discoverable users) are not modelled: `bench.run` checks that the
benchmark graph has none of them, so the two definitions coincide there.
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass
from typing import Any

import networkx as nx

from graph.recommend import HUB_DEGREE


def suggest(
    g: nx.Graph, me: str, limit: int = 20, hub_degree: int = HUB_DEGREE
) -> list[tuple[str, float]]:
    friends = set(g[me])
    candidates: set[str] = set()
    for f in friends:
        if g.degree(f) <= hub_degree:
            candidates.update(g[f])
    candidates -= friends
    candidates.discard(me)
    scored = nx.adamic_adar_index(g, [(me, c) for c in candidates])
    best = heapq.nsmallest(limit, ((-score, c) for _, c, score in scored))
    return [(c, -neg) for neg, c in best]


@dataclass(frozen=True)
class Agreement:
    users: int
    identical: int  # same ids in the same order, scores within 1e-9
    same_set: int  # same ids (ties at equal scores may order differently)
    max_score_diff: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "users": self.users,
            "identical": self.identical,
            "same_set": self.same_set,
            "max_score_diff": self.max_score_diff,
        }


def compare(
    nx_pages: dict[str, list[tuple[str, float]]], cypher_pages: dict[str, list[tuple[str, float]]]
) -> Agreement:
    identical = same_set = 0
    worst = 0.0
    for user, ours in cypher_pages.items():
        theirs = nx_pages[user]
        by_id = dict(theirs)
        for cid, score in ours:
            if cid in by_id:
                worst = max(worst, abs(by_id[cid] - score))
        if {c for c, _ in ours} == {c for c, _ in theirs}:
            same_set += 1
            if [c for c, _ in ours] == [c for c, _ in theirs] and all(
                math.isclose(a, b, rel_tol=0, abs_tol=1e-9)
                for (_, a), (_, b) in zip(ours, theirs, strict=True)
            ):
                identical += 1
    return Agreement(len(cypher_pages), identical, same_set, worst)


def timed_suggestions(
    g: nx.Graph, users: list[str], limit: int = 20
) -> tuple[list[float], dict[str, list[tuple[str, float]]]]:
    """Per-user wall time (seconds) and the pages, computed one after the other."""
    times: list[float] = []
    pages: dict[str, list[tuple[str, float]]] = {}
    for u in users:
        start = time.perf_counter()
        pages[u] = suggest(g, u, limit)
        times.append(time.perf_counter() - start)
    return times, pages
