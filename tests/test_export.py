"""Export: friendship_graph reproduces the loaded networkx graph (nodes, edges,
attributes) page by page; ego_graph matches nx.ego_graph; GraphML, edge list and
node-link JSON files read back into the same graph; the CLI writes them."""

from __future__ import annotations

import io
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from neo4j.time import DateTime
from typer.testing import CliRunner

import graph.export as export
from core.errors import Invalid, NotFound
from graph import serialize
from graph.queries import catalog
from seeds import bulk
from socialgraph.cli import app
from tests.graphs import user_id

T0 = datetime(2023, 5, 1, 8, 30, tzinfo=UTC)


def iso(t: datetime) -> str:
    return DateTime.from_native(t).iso_format()


@pytest.fixture(scope="module", autouse=True)
def schema(neo: Any) -> None:
    """Constraints and indexes, so pagination runs on the indexes it is written for."""
    with neo.session(database="neo4j") as session:
        for query in sorted(catalog().area("schema"), key=lambda q: q.name):
            session.run(query.text).consume()


def source_graph() -> nx.Graph:
    """A graph with the attributes the export promises, including awkward text."""
    g = nx.connected_watts_strogatz_graph(45, 4, 0.3, seed=3)
    g.add_nodes_from([90, 91])  # no friends
    out = nx.Graph()
    for n in g.nodes:
        out.add_node(
            user_id(n), id=user_id(n), handle=f"user{n}",
            display_name=f"User <{n}> & \"friends\" 'quoted' ü\x01",
            created_at=iso(T0 + timedelta(hours=n)),
        )  # fmt: skip
    for i, (a, b) in enumerate(sorted(g.edges)):
        out.add_edge(user_id(a), user_id(b), since=iso(T0 + timedelta(days=i)))
    return out


@pytest.fixture
def src(neo: Any) -> nx.Graph:
    g = source_graph()
    bulk.users(neo, [
        {"id": n, "handle": d["handle"], "display_name": d["display_name"],
         "created_at": datetime.fromisoformat(d["created_at"][:19] + "+00:00"),
         "source": "test", "source_id": n}
        for n, d in g.nodes(data=True)
    ])  # fmt: skip
    bulk.friendships(neo, [
        {"a": a, "b": b, "since": datetime.fromisoformat(d["since"][:19] + "+00:00")}
        for a, b, d in g.edges(data=True)
    ])  # fmt: skip
    return g


def assert_same(got: nx.Graph, expected: nx.Graph, node_attrs: bool = True) -> None:
    assert set(got.nodes) == set(expected.nodes)
    assert {frozenset(e) for e in got.edges} == {frozenset(e) for e in expected.edges}
    if node_attrs:
        for n, attrs in expected.nodes(data=True):
            assert got.nodes[n] == attrs, n
    for a, b, attrs in expected.edges(data=True):
        assert got.edges[a, b] == attrs


def test_friendship_graph_equals_source(neo: Any, src: nx.Graph, monkeypatch: Any) -> None:
    pages: list[str] = []
    real_read = export._read_packed

    def spy(driver: Any, database: str, name: str, params: dict[str, Any]) -> Any:
        pages.append(name)
        rows = real_read(driver, database, name, params)
        assert len(rows) <= params.get("limit", 1)
        return rows

    monkeypatch.setattr(export, "_read_packed", spy)
    g = export.friendship_graph(neo, batch_size=8)
    assert_same(g, src)
    # 47 users in pages of 8 -> 6 pages, for the users and for their friendships
    assert pages.count("analytics.export.users_page") == 6
    assert pages.count("analytics.export.adjacency_page") == 6  # pages of 8 users too


def test_friendship_graph_with_progress(neo: Any, src: nx.Graph) -> None:
    assert_same(export.friendship_graph(neo, progress=True), src)


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_ego_graph_matches_networkx(neo: Any, src: nx.Graph, depth: int) -> None:
    for center in [user_id(0), user_id(17), user_id(90)]:
        assert_same(export.ego_graph(neo, center, depth), nx.ego_graph(src, center, radius=depth))


def test_ego_graph_errors(neo: Any, src: nx.Graph) -> None:
    with pytest.raises(NotFound, match="t-missing"):
        export.ego_graph(neo, "t-missing", 1)
    with pytest.raises(Invalid):
        export.ego_graph(neo, user_id(0), 5)


def read_back(fmt: str, text: str) -> nx.Graph:
    if fmt == "graphml":
        return nx.read_graphml(io.BytesIO(text.encode("utf-8")))
    if fmt == "json":
        return nx.node_link_graph(json.loads(text), edges="edges")
    return nx.parse_edgelist(text.splitlines(), nodetype=str, data=False)


def without_id(g: nx.Graph) -> nx.Graph:
    """node-link JSON uses `id` as the node key, so the attribute is not repeated."""
    out = g.copy()
    for _, attrs in out.nodes(data=True):
        attrs.pop("id", None)
    return out


def clean_xml(g: nx.Graph) -> nx.Graph:
    out = g.copy()
    for _, attrs in out.nodes(data=True):
        attrs["display_name"] = attrs["display_name"].replace("\x01", "")
    return out


@pytest.mark.parametrize("fmt", export.FORMATS)
def test_files_read_back_into_the_same_graph(neo: Any, src: nx.Graph, fmt: str) -> None:
    buf = io.StringIO()
    stats = export.export_graph(neo, fmt, buf, batch_size=16)  # type: ignore[arg-type]
    g = read_back(fmt, buf.getvalue())
    assert stats.edges == src.number_of_edges()
    if fmt == "graphml":
        assert stats.nodes == src.number_of_nodes()
        assert_same(g, clean_xml(src))  # XML 1.0 cannot carry \x01
    elif fmt == "json":
        assert_same(g, without_id(src))
    else:
        # an edge list has neither attributes nor users without friends
        assert set(g.nodes) == set(src.nodes) - {user_id(90), user_id(91)}
        assert {frozenset(e) for e in g.edges} == {frozenset(e) for e in src.edges}


@pytest.mark.parametrize("fmt", export.FORMATS)
def test_ego_files(neo: Any, src: nx.Graph, fmt: str) -> None:
    buf = io.StringIO()
    export.export_graph(neo, fmt, buf, ego=user_id(5), depth=2)  # type: ignore[arg-type]
    expected = nx.ego_graph(src, user_id(5), radius=2)
    g = read_back(fmt, buf.getvalue())
    assert {frozenset(e) for e in g.edges} == {frozenset(e) for e in expected.edges}
    if fmt != "edgelist":
        assert set(g.nodes) == set(expected.nodes)


# ------------------------------------------------------------------ CLI

runner = CliRunner()


@pytest.mark.parametrize("fmt", export.FORMATS)
def test_cli_export_writes_file(neo: Any, src: nx.Graph, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"graph.{fmt}"
    result = runner.invoke(app, ["export", "--format", fmt, "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert f"{src.number_of_edges()} friendships written to {out}" in result.stderr
    g = read_back(fmt, out.read_text(encoding="utf-8"))
    assert g.number_of_edges() == src.number_of_edges()
    assert not list(tmp_path.glob("*.partial"))


def test_cli_export_ego_to_stdout(neo: Any, src: nx.Graph) -> None:
    result = runner.invoke(
        app, ["export", "--format", "json", "--ego", user_id(3), "--depth", "1", "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    g = read_back("json", result.stdout)
    assert set(g.nodes) == set(nx.ego_graph(src, user_id(3), radius=1).nodes)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "json", "--depth", "2"], "--depth needs --ego"),
        (["--format", "json", "--ego", "t-missing"], "no user with id 't-missing'"),
        (["--format", "yaml"], "yaml"),
        (["--format", "json", "--ego", "t-1", "--depth", "9"], "less than or equal to 3"),
    ],
)
def test_cli_export_errors_are_sentences(
    neo: Any, src: nx.Graph, tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "x.json"
    result = runner.invoke(app, ["export", *args, "--out", str(out), "--no-progress"])
    assert result.exit_code != 0
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert not out.exists() and not list(tmp_path.glob("*.partial"))


def test_utc_iso_matches_the_driver_datetime(neo: Any) -> None:
    """Export and feed pages carry timestamps as (epochMillis, nanosecond); serialize.utc_iso
    must give what the driver's DateTime gives through to_jsonable: the same string for UTC
    values, the same instant for values stored with another offset."""
    rng = random.Random(7)
    values = [
        datetime(1900, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(0, 8 * 10**9))
        for _ in range(300)
    ]
    texts = [v.isoformat().replace("+00:00", f".{rng.randrange(10**9):09d}Z") for v in values]
    texts += [
        "1969-12-31T23:59:59.5Z",  # epochSeconds is 0 here, as for the next one
        "1970-01-01T00:00:00.5Z",
        "1969-12-31T23:59:58Z",
        "2024-02-29T12:00:00.25+05:30",
    ]
    recs, _, _ = neo.execute_query(
        "UNWIND $texts AS t WITH datetime(t) AS d"
        " RETURN d, d.epochMillis AS ms, d.nanosecond AS ns",
        texts=texts,
    )
    assert len(recs) == len(texts)
    for rec in recs:
        got = serialize.utc_iso(rec["ms"], rec["ns"])
        assert got is not None
        # The feed's datetime from the same parts (microseconds, as the driver's to_native).
        assert serialize.utc_datetime(rec["ms"], rec["ns"]) == rec["d"].to_native()
        want = serialize.to_jsonable(rec["d"])
        if want.endswith("+00:00"):
            assert got == want
        else:
            assert rec["d"].to_native() == datetime.fromisoformat(got)
    assert serialize.utc_iso(None, None) is None
