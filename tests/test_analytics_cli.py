"""`socialgraph query`: the catalog listing, rows as table/csv/json, and one-sentence
errors (unknown query with the available names, missing parameter named) with no
traceback."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import networkx as nx
import pytest
from typer.testing import CliRunner

from socialgraph.cli import app
from tests.graphs import load_graph

runner = CliRunner()


@pytest.fixture
def g(neo: Any) -> nx.Graph:
    graph = nx.barabasi_albert_graph(30, 2, seed=4)
    load_graph(neo, graph)
    return graph


def run(*args: str) -> Any:
    result = runner.invoke(app, ["query", *args])
    assert "Traceback" not in result.output
    return result


def test_list_shows_catalog_with_descriptions() -> None:
    result = run("--list")
    assert result.exit_code == 0
    for name in ("degree_distribution", "most_connected", "shortest_path", "ego_network_2"):
        assert name in result.stdout
    assert "limit=20" in result.stdout


def test_json_rows(g: nx.Graph) -> None:
    result = run("most_connected", "--param", "limit=3", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["degree"] for r in rows] == sorted((d for _, d in g.degree), reverse=True)[:3]
    assert "3 rows in" in result.stderr


def test_csv_rows(g: nx.Graph) -> None:
    result = run("degree_distribution", "-f", "csv")
    assert result.exit_code == 0, result.output
    table = list(csv.DictReader(io.StringIO(result.stdout)))
    histogram = nx.degree_histogram(g)
    assert {int(r["degree"]): int(r["users"]) for r in table} == {
        d: c for d, c in enumerate(histogram) if c
    }


def test_table_default_and_nested_values(g: nx.Graph) -> None:
    result = run("shortest_path", "-p", "user_id=t-0", "-p", "other_id=t-29")
    assert result.exit_code == 0, result.output
    assert "user0" in result.stdout and "length" in result.stdout


def test_ids_made_of_digits_stay_text(neo: Any) -> None:
    neo.execute_query("CREATE (:User {id: '12345', handle: 'digits', handle_lower: 'digits'})")
    result = run("triangles_count", "-p", "user_id=12345", "-f", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [{"user_id": "12345", "handle": "digits", "triangles": 0}]


def test_max_rows_reports_truncation(g: nx.Graph) -> None:
    result = run("most_connected", "-p", "limit=10", "--max-rows", "2", "-f", "json")
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == 2
    assert "more rows exist" in result.stderr


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["most_connectd"], 2, "unknown analytics query 'most_connectd'; available: "),
        (["triangles_count"], 2, "missing parameter 'user_id'"),
        (["triangles_count", "-p", "user_id=t-1", "-p", "depth=2"], 2, "unknown parameter 'depth'"),
        (["most_connected", "-p", "limit"], 2, "--param wants key=value"),
        (["most_connected", "-p", "limit=ten"], 1, "Neo.ClientError"),
        (["friendship_growth", "-p", "unit=fortnight"], 1, "Unsupported unit: fortnight"),
        ([], 2, "--list"),
        (["degree_distribution", "-f", "xml"], 2, "xml"),
    ],
)
def test_errors_are_sentences(g: nx.Graph, args: list[str], code: int, message: str) -> None:
    result = run(*args)
    assert result.exit_code == code, result.output
    assert message in result.stderr
