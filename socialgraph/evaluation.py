"""Offline quality evaluation of friend suggestions on real social graphs.

Protocol (seeded, so reruns give the same table):
1. Read a data set's edge list; hide a random `hide` fraction of its friendships.
2. Load the remaining (training) graph into Neo4j through the ordinary bulk loaders.
3. Sample users that have at least one hidden friendship and at least one training friend
   (users with none get the cold-start list, which is not what is measured here).
4. For each algorithm, ask the real suggestion code (`graph.recommend.suggest`, the Cypher
   behind the API) for each sampled user's top k; baselines: `random` (k random non-friends)
   and `popular` (the k highest-degree non-friends in the training graph).
5. Score against the hidden friendships: precision@k, recall@k, MAP@k, and AUC.

AUC is the probability that a hidden friendship scores above a random non-friendship, over
10,000 sampled pairs. It needs scores for arbitrary pairs, which the API does not return for
non-candidates, so it is computed with networkx's functions on the same training graph; the
property tests (tests/test_recommend.py) show the Cypher scores equal networkx's exactly.
"""

from __future__ import annotations

import asyncio
import math
import random
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import networkx as nx
from neo4j import Driver

from graph.db import Graph
from graph.recommend import ALGORITHMS, Algorithm, suggest
from seeds import bulk

Method = str  # an Algorithm or "random" / "popular"
EVAL_SOURCE = "eval"


@dataclass(frozen=True)
class Scores:
    dataset: str
    method: Method
    users: int
    precision: float
    recall: float
    map: float
    auc: float | None


def split(g: nx.Graph, hide: float, seed: int) -> tuple[nx.Graph, dict[Any, set[Any]]]:
    """Training graph and, per user, the friends whose friendship was hidden."""
    rng = random.Random(seed)
    edges = sorted(g.edges(), key=lambda e: (str(e[0]), str(e[1])))
    hidden_edges = rng.sample(edges, int(len(edges) * hide))
    train = g.copy()
    train.remove_edges_from(hidden_edges)
    hidden: dict[Any, set[Any]] = {}
    for a, b in hidden_edges:
        hidden.setdefault(a, set()).add(b)
        hidden.setdefault(b, set()).add(a)
    return train, hidden


def node_id(n: Any) -> str:
    return f"{EVAL_SOURCE}-{n}"


def load_training_graph(driver: Driver, train: nx.Graph, database: str) -> None:
    bulk.users(
        driver,
        [
            {"id": node_id(n), "handle": f"e{n}", "source": EVAL_SOURCE, "source_id": str(n)}
            for n in train.nodes
        ],
        database=database,
    )
    bulk.friendships(
        driver,
        [{"a": node_id(a), "b": node_id(b)} for a, b in train.edges],
        database=database,
        batch_size=10_000,
    )


def average_precision(ranked: list[Any], relevant: set[Any], k: int) -> float:
    hits, total = 0, 0.0
    for i, item in enumerate(ranked[:k], start=1):
        if item in relevant:
            hits += 1
            total += hits / i
    return total / min(k, len(relevant)) if relevant else 0.0


def summarize(
    dataset: str,
    method: Method,
    ranked: dict[Any, list[Any]],
    hidden: dict[Any, set[Any]],
    k: int,
    auc: float | None,
) -> Scores:
    p = r = m = 0.0
    for u, items in ranked.items():
        hits = len(set(items[:k]) & hidden[u])
        p += hits / k
        r += hits / len(hidden[u])
        m += average_precision(items, hidden[u], k)
    n = len(ranked)
    return Scores(dataset, method, n, p / n, r / n, m / n, auc)


def auc_score(
    train: nx.Graph,
    hidden: dict[Any, set[Any]],
    scorer: Callable[[nx.Graph, Iterable[tuple[Any, Any]]], Iterable[Any]] | None,
    seed: int,
    pairs: int = 10_000,
) -> float | None:
    if scorer is None:
        return None
    rng = random.Random(seed + 1)
    positives = sorted(
        {tuple(sorted((a, b), key=str)) for a, vs in hidden.items() for b in vs}, key=str
    )
    nodes = list(train.nodes)
    pos = [positives[rng.randrange(len(positives))] for _ in range(pairs)]
    neg: list[tuple[Any, Any]] = []
    while len(neg) < pairs:
        a, b = nodes[rng.randrange(len(nodes))], nodes[rng.randrange(len(nodes))]
        if a != b and not train.has_edge(a, b) and b not in hidden.get(a, ()):
            neg.append((a, b))

    def scores(ps: list[tuple[Any, Any]]) -> list[float]:
        return [float(t[2]) for t in scorer(train, ps)]

    sp, sn = scores(pos), scores(neg)
    wins = sum(1.0 if x > y else 0.5 if x == y else 0.0 for x, y in zip(sp, sn, strict=True))
    return wins / pairs


def _common_neighbors(g: nx.Graph, ps: Iterable[tuple[Any, Any]]) -> Iterable[Any]:
    return ((a, b, len(list(nx.common_neighbors(g, a, b)))) for a, b in ps)


NX_SCORERS: dict[str, Callable[[nx.Graph, Iterable[tuple[Any, Any]]], Iterable[Any]]] = {
    "common_neighbors": _common_neighbors,
    "adamic_adar": nx.adamic_adar_index,
    "resource_allocation": nx.resource_allocation_index,
    "jaccard": nx.jaccard_coefficient,
    "popular": lambda g, ps: ((a, b, g.degree(b)) for a, b in ps),
    # A fixed pseudo-random score per pair (crc32, not hash(): that is salted per process).
    "random": lambda g, ps: ((a, b, zlib.crc32(f"{a}|{b}".encode())) for a, b in ps),
}


async def cypher_rankings(
    graph: Graph,
    algorithm: Algorithm,
    users: list[Any],
    k: int,
    index: dict[str, Any],
    concurrency: int = 8,
) -> dict[Any, list[Any]]:
    """Top-k through the real suggestion code; `index` maps our user ids to node ids."""
    sem = asyncio.Semaphore(concurrency)

    async def one(u: Any) -> tuple[Any, list[Any]]:
        async with sem:
            page = await suggest(graph, node_id(u), algorithm=algorithm, limit=k)
        return u, [index[s.user.id] for s in page.items]

    return dict(await asyncio.gather(*(one(u) for u in users)))


def baseline_rankings(
    train: nx.Graph, users: list[Any], k: int, seed: int
) -> dict[str, dict[Any, list[Any]]]:
    rng = random.Random(seed + 2)
    nodes = list(train.nodes)
    by_degree = sorted(nodes, key=lambda n: (-train.degree(n), str(n)))
    rand: dict[Any, list[Any]] = {}
    pop: dict[Any, list[Any]] = {}
    for u in users:
        excluded = set(train[u]) | {u}
        picks: list[Any] = []
        while len(picks) < k:
            c = nodes[rng.randrange(len(nodes))]
            if c not in excluded and c not in picks:
                picks.append(c)
        rand[u] = picks
        pop[u] = [n for n in by_degree[: k + len(excluded)] if n not in excluded][:k]
    return {"random": rand, "popular": pop}


async def evaluate(
    driver: Driver,
    graph: Graph,
    dataset: str,
    g: nx.Graph,
    *,
    hide: float,
    k: int,
    users: int,
    seed: int,
    database: str,
    progress: Callable[[str], None] = lambda _: None,
) -> list[Scores]:
    from seeds.common import ensure_schema, reset_graph

    train, hidden = split(g, hide, seed)
    candidates = sorted((u for u in hidden if train.degree(u) > 0), key=str)
    sample = random.Random(seed).sample(candidates, min(users, len(candidates)))
    progress(
        f"{dataset}: {g.number_of_nodes()} users, {g.number_of_edges()} friendships, "
        f"{sum(len(v) for v in hidden.values()) // 2} hidden; loading training graph"
    )
    reset_graph(driver, database)
    ensure_schema(driver, database)  # the loaders MATCH users by id: needs the constraint
    load_training_graph(driver, train, database)
    index = {node_id(n): n for n in train.nodes}
    out: list[Scores] = []
    for algorithm in ALGORITHMS:
        progress(f"{dataset}: {algorithm} for {len(sample)} users")
        ranked = await cypher_rankings(graph, algorithm, sample, k, index)
        out.append(
            summarize(
                dataset,
                algorithm,
                ranked,
                hidden,
                k,
                auc_score(train, hidden, NX_SCORERS[algorithm], seed),
            )
        )
    for name, ranked in baseline_rankings(train, sample, k, seed).items():
        out.append(
            summarize(
                dataset, name, ranked, hidden, k, auc_score(train, hidden, NX_SCORERS[name], seed)
            )
        )
    return out


def markdown(rows: list[Scores], k: int) -> str:
    lines = [
        f"| data set | method | users | precision@{k} | recall@{k} | MAP@{k} | AUC |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for s in rows:
        auc = "-" if s.auc is None or math.isnan(s.auc) else f"{s.auc:.3f}"
        lines.append(
            f"| {s.dataset} | {s.method} | {s.users} | {s.precision:.4f} | "
            f"{s.recall:.4f} | {s.map:.4f} | {auc} |"
        )
    return "\n".join(lines)
