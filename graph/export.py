"""The friendship graph out of Neo4j: into networkx, or into GraphML / edge list / JSON files.

Users and friendships are read in pages (keyset pagination on the unique, index-ordered
user `id`; a friendship page is a page of users, each with its friends of larger id, so
each friendship comes once, under its smaller id), each page in its own short READ
transaction, so no transaction stays open for the whole export and memory holds one
page at a time.

Why this shape: the Python driver's cost per record (about 40 us) and per `DateTime`
value (about 100 us) dominated the export, not Neo4j. A page is one record holding a
list (users, or users with their adjacency lists), not a record per user or per
friendship, and timestamps come as epoch integers (`serialize.utc_iso`). Loading the
100,000-user / 999,721-friendship bench graph into networkx took 223.6 s the old way
and 29.7 s this way (docs/analysis.md, "Export").

The file writers consume those pages as they arrive and never build the whole graph,
except where a caller passes an `nx.Graph` (ego networks).

Pages come from separate transactions: an export taken while the graph changes is
not a snapshot (a friendship may name a user created after the users were read).

Node attributes: `id`, `handle`, `display_name`, `created_at` (ISO-8601); edge
attribute `since` (ISO-8601). Attributes that are null are left out (GraphML has no
null). Formats:

* `graphml`: standard GraphML, undirected, written element by element;
* `edgelist`: `source target` per line, space-separated (ids contain no whitespace:
  32-hex or `<source>-<source_id>`); users without friends do not appear;
* `json`: networkx node-link data (`nx.node_link_graph(data, edges="edges")` reads it
  back), written node by node and edge by edge.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, TextIO, TypeVar
from xml.sax.saxutils import escape, quoteattr

import networkx as nx
from neo4j import Driver
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from core.errors import NotFound
from graph import serialize
from graph.analytics import ego_query_name
from graph.db import SyncGraph

ExportFormat = Literal["graphml", "edgelist", "json"]
FORMATS: tuple[ExportFormat, ...] = ("graphml", "edgelist", "json")
DEFAULT_BATCH = 10_000  # users per page; a friendship page holds their friendships
PAGE_TIMEOUT = 60.0
NODE_ATTRS = ("id", "handle", "display_name", "created_at")
EDGE_ATTRS = ("since",)

NodeRow = dict[str, Any]
EdgeRow = tuple[str, str, dict[str, Any]]
T = TypeVar("T")


@dataclass(frozen=True)
class ExportStats:
    nodes: int
    edges: int


# ------------------------------------------------------------------ reading


def _read(driver: Driver, database: str, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    return SyncGraph(driver, database).json_rows(name, params, PAGE_TIMEOUT)


def _read_packed(
    driver: Driver, database: str, name: str, params: dict[str, Any]
) -> list[list[Any]]:
    """A page whose query returns one record with a `rows` list of plain values (strings,
    numbers, lists of them), so no `serialize` walk is needed over a million values."""
    row = SyncGraph(driver, database).read_tx(
        lambda tx: tx.raw_one(name, **params), timeout=PAGE_TIMEOUT
    )
    if row is None:
        raise LookupError(f"{name}: the page query returned no record")
    rows: list[list[Any]] = row["rows"]
    return rows


def counts(driver: Driver, database: str = "neo4j") -> tuple[int, int]:
    """(users, friendships), from the count store."""
    row = _read(driver, database, "analytics.export.counts", {})[0]
    return int(row["users"]), int(row["friendships"])


def _node(row: dict[str, Any]) -> NodeRow:
    return {k: row[k] for k in NODE_ATTRS if row.get(k) is not None}


def _page_node(row: list[Any]) -> NodeRow:
    """A users_page row: [id, handle, display_name, created_at_ms, created_at_ns]."""
    uid, handle, name, created_ms, created_ns = row
    node: NodeRow = {"id": uid}
    if handle is not None:
        node["handle"] = handle
    if name is not None:
        node["display_name"] = name
    if created_ms is not None:
        node["created_at"] = serialize.utc_iso(created_ms, created_ns)
    return node


def _edge(row: dict[str, Any]) -> EdgeRow:
    return row["source"], row["target"], {k: row[k] for k in EDGE_ATTRS if row.get(k) is not None}


def iter_users(
    driver: Driver, *, database: str = "neo4j", batch_size: int = DEFAULT_BATCH
) -> Iterator[NodeRow]:
    """Every user as a node-attribute dict, in id order, one page per transaction."""
    after = ""
    while True:
        page = _read_packed(
            driver, database, "analytics.export.users_page", {"after": after, "limit": batch_size}
        )
        for row in page:
            yield _page_node(row)
        if len(page) < batch_size:
            return
        after = page[-1][0]


def iter_friendships(
    driver: Driver, *, database: str = "neo4j", batch_size: int = DEFAULT_BATCH
) -> Iterator[EdgeRow]:
    """Every friendship once as (smaller id, larger id, {since}), ordered by the smaller id,
    then the larger; `batch_size` users per page."""
    after = ""
    while True:
        page = _read_packed(
            driver,
            database,
            "analytics.export.adjacency_page",
            {"after": after, "limit": batch_size},
        )
        for a, friends in page:
            for b, since_ms, since_ns in friends:
                since = serialize.utc_iso(since_ms, since_ns)
                yield a, b, ({} if since is None else {"since": since})
        if len(page) < batch_size:
            return
        after = page[-1][0]


def progress_bar(enabled: bool = True, console: Console | None = None) -> Progress:
    """A progress bar on stderr (stdout may be the export itself)."""
    return Progress(
        TextColumn("{task.description:<12}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console or Console(stderr=True),
        disable=not enabled,
        transient=False,
    )


def _tracked(
    items: Iterable[T], bar: Progress | None, label: str, total: int | None
) -> Iterator[T]:
    if bar is None:
        yield from items
        return
    task = bar.add_task(label, total=total)
    for item in items:
        yield item
        bar.advance(task)


def friendship_graph(
    driver: Driver,
    *,
    database: str = "neo4j",
    batch_size: int = DEFAULT_BATCH,
    progress: bool = False,
) -> nx.Graph:
    """The whole friendship graph: nodes keyed by user id, attributes as documented above."""
    g: nx.Graph = nx.Graph()
    users, friendships = counts(driver, database) if progress else (None, None)
    with progress_bar(progress) as bar:
        for node in _tracked(
            iter_users(driver, database=database, batch_size=batch_size),
            bar if progress else None,
            "users",
            users,
        ):
            g.add_node(node["id"], **node)
        for a, b, attrs in _tracked(
            iter_friendships(driver, database=database, batch_size=batch_size),
            bar if progress else None,
            "friendships",
            friendships,
        ):
            g.add_edge(a, b, **attrs)
    return g


def ego_graph(driver: Driver, user_id: str, depth: int, *, database: str = "neo4j") -> nx.Graph:
    """A user's ego network to `depth` (1-3), like `nx.ego_graph(g, user_id, radius=depth)`."""
    rows = _read(driver, database, ego_query_name(depth), {"user_id": user_id})
    if not rows:
        raise NotFound(f"no user with id {user_id!r}")
    g: nx.Graph = nx.Graph()
    for node in rows[0]["nodes"]:
        g.add_node(node["id"], **_node(node))
    for edge in rows[0]["edges"]:
        a, b, attrs = _edge(edge)
        g.add_edge(a, b, **attrs)
    return g


def graph_nodes(g: nx.Graph) -> Iterator[NodeRow]:
    for n, attrs in g.nodes(data=True):
        yield {"id": n, **{k: v for k, v in attrs.items() if k != "id"}}


def graph_edges(g: nx.Graph) -> Iterator[EdgeRow]:
    for a, b, attrs in g.edges(data=True):
        yield a, b, dict(attrs)


# ------------------------------------------------------------------ writing

# Characters XML 1.0 cannot carry at all.
_XML_INVALID_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(value: Any) -> str:
    return escape(_XML_INVALID_RE.sub("", str(value)))


def _xml_attr(value: Any) -> str:
    return quoteattr(_XML_INVALID_RE.sub("", str(value)))


def write_graphml(out: TextIO, nodes: Iterable[NodeRow], edges: Iterable[EdgeRow]) -> ExportStats:
    keys = {f"n:{a}": f"d{i}" for i, a in enumerate(NODE_ATTRS)}
    keys.update({f"e:{a}": f"d{len(NODE_ATTRS) + i}" for i, a in enumerate(EDGE_ATTRS)})
    out.write(
        "<?xml version='1.0' encoding='utf-8'?>\n"
        '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
        'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">\n'
    )
    for attr in NODE_ATTRS:
        out.write(
            f'  <key id="{keys["n:" + attr]}" for="node" attr.name="{attr}" attr.type="string" />\n'
        )
    for attr in EDGE_ATTRS:
        out.write(
            f'  <key id="{keys["e:" + attr]}" for="edge" attr.name="{attr}" attr.type="string" />\n'
        )
    out.write('  <graph edgedefault="undirected">\n')
    n = e = 0
    for node in nodes:
        data = "".join(
            f'<data key="{keys["n:" + k]}">{_xml_text(v)}</data>'
            for k, v in node.items()
            if "n:" + k in keys
        )
        out.write(f"    <node id={_xml_attr(node['id'])}>{data}</node>\n")
        n += 1
    for a, b, attrs in edges:
        data = "".join(
            f'<data key="{keys["e:" + k]}">{_xml_text(v)}</data>'
            for k, v in attrs.items()
            if "e:" + k in keys
        )
        out.write(f"    <edge source={_xml_attr(a)} target={_xml_attr(b)}>{data}</edge>\n")
        e += 1
    out.write("  </graph>\n</graphml>\n")
    return ExportStats(n, e)


def write_edgelist(out: TextIO, nodes: Iterable[NodeRow], edges: Iterable[EdgeRow]) -> ExportStats:
    """`source target` lines; `nodes` is not read (an edge list cannot hold isolated users)."""
    e = 0
    for a, b, _ in edges:
        out.write(f"{a} {b}\n")
        e += 1
    return ExportStats(0, e)


def write_node_link_json(
    out: TextIO, nodes: Iterable[NodeRow], edges: Iterable[EdgeRow]
) -> ExportStats:
    out.write('{"directed": false, "multigraph": false, "graph": {}, "nodes": [')
    n = e = 0
    for node in nodes:
        out.write(("," if n else "") + "\n" + json.dumps(node, ensure_ascii=False))
        n += 1
    out.write('\n], "edges": [')
    for a, b, attrs in edges:
        edge = {"source": a, "target": b, **attrs}
        out.write(("," if e else "") + "\n" + json.dumps(edge, ensure_ascii=False))
        e += 1
    out.write("\n]}\n")
    return ExportStats(n, e)


WRITERS: dict[str, Callable[[TextIO, Iterable[NodeRow], Iterable[EdgeRow]], ExportStats]] = {
    "graphml": write_graphml,
    "edgelist": write_edgelist,
    "json": write_node_link_json,
}


def export_graph(
    driver: Driver,
    fmt: ExportFormat,
    out: TextIO,
    *,
    database: str = "neo4j",
    ego: str | None = None,
    depth: int = 1,
    batch_size: int = DEFAULT_BATCH,
    progress: bool = False,
) -> ExportStats:
    """Write the friendship graph (or `ego`'s network to `depth`) to `out` in `fmt`."""
    writer = WRITERS[fmt]
    if ego is not None:
        g = ego_graph(driver, ego, depth, database=database)
        return writer(out, graph_nodes(g), graph_edges(g))
    users, friendships = counts(driver, database) if progress else (None, None)
    with progress_bar(progress) as bar:
        tracker = bar if progress else None
        nodes = _tracked(
            iter_users(driver, database=database, batch_size=batch_size), tracker, "users", users
        )
        edges = _tracked(
            iter_friendships(driver, database=database, batch_size=batch_size),
            tracker,
            "friendships",
            friendships,
        )
        return writer(out, nodes, edges)
