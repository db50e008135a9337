"""`socialgraph cypher`: an analyst's read-only Cypher from the shell, under the same guard as
`POST /v1/analytics/cypher` (graph/adhoc.py), and `--explain` printing Neo4j's plan. Also
the API side of the same item: EXPLAIN returns its plan, and a named query without
parameters needs no body."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import networkx as nx
import pytest
from typer.testing import CliRunner, Result

from core.config import Settings, get_settings
from socialgraph.analyst_cli import plan_lines
from socialgraph.cli import app
from tests.factories import assert_error, graph_users
from tests.graphs import load_graph
from tests.test_adhoc import snapshot

runner = CliRunner()
COUNT = "MATCH (u:User) RETURN count(u) AS n"
HANDLES = "MATCH (u:User) RETURN u.handle AS handle ORDER BY handle"


def cypher(*args: str, input: str | None = None) -> Result:
    result = runner.invoke(app, ["cypher", *args], input=input)
    assert "Traceback" not in result.output, result.output
    return result


@pytest.fixture
def karate(neo: Any) -> nx.Graph:
    g = nx.karate_club_graph()
    load_graph(neo, g)
    return g


def test_rows_as_json_csv_and_from_stdin(karate: nx.Graph) -> None:
    result = cypher(COUNT, "-f", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [{"n": 34}]
    assert "1 rows in" in result.stderr

    result = cypher(
        "-", "-f", "csv", "-p", "h=user3", input="MATCH (u:User {handle: $h}) RETURN u.id AS id"
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "id\nt-3\n"

    result = cypher(HANDLES, "--max-rows", "2", "-f", "json")
    assert [r["handle"] for r in json.loads(result.stdout)] == ["user0", "user1"]
    assert "more rows exist" in result.stderr


def test_explain_prints_the_plan_and_runs_nothing(karate: nx.Graph, neo: Any) -> None:
    result = cypher("--explain", HANDLES)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    # Estimates come from Neo4j's statistics (and its plan cache): a number, not exactly 34.
    assert re.match(r"ProduceResults \(est\. \d+ rows\)", lines[0]), result.stdout
    assert any(re.search(r"NodeByLabelScan \(est\. \d+ rows\)  u:User", line) for line in lines)
    assert any(line.lstrip("│ ").startswith("└─ ") for line in lines[1:])
    assert "plan only, nothing run" in result.stderr

    # EXPLAIN in the text does the same; the plan as JSON.
    result = cypher("EXPLAIN " + HANDLES, "-f", "json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["operator"] == "ProduceResults" and plan["estimated_rows"] > 0

    # A write, explained, is planned and never run: the graph is unchanged.
    before = snapshot(neo)
    result = cypher("--explain", "MATCH (u:User) SET u.x = 1")
    assert result.exit_code == 0, result.output
    assert "SetProperty" in result.stdout
    assert snapshot(neo) == before


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("CREATE (:User {id: 'x'})", "Neo.ClientError.Statement.AccessMode"),
        ("MATCH (u:User) SET u.handle = 'x'", "Neo.ClientError.Statement.AccessMode"),
        ("MATCH (u:User) DETACH DELETE u", "Neo.ClientError.Statement.AccessMode"),
        ("MATCH (c:Credential) RETURN c.hash", "credential"),
        ("MATCH (n) RETURN n", "unanchored"),
        ("LOAD CSV FROM 'file:///etc/passwd' AS l RETURN l", "LOAD CSV"),
        ("MATCH (u:User) RETURN u.password_hash", "secret"),
        ("SHOW USERS", "administrative"),
        ("CALL dbms.listConfig()", "procedure"),
    ],
)
def test_the_api_guard_applies(karate: nx.Graph, neo: Any, text: str, says: str) -> None:
    before = snapshot(neo)
    # Planning a write is harmless (it shows the plan); the rest is refused planned or not.
    writes = "AccessMode" in says
    for args in [[text]] if writes else [[text], ["--explain", text]]:
        result = cypher(*args)
        assert result.exit_code == 2, result.output
        assert result.stdout == ""
        assert says in result.stderr
    assert snapshot(neo) == before


@pytest.fixture
def small_byte_cap(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ANALYST_MAX_RESULT_BYTES", "1024")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_byte_cap_applies(karate: nx.Graph, small_byte_cap: None) -> None:
    result = cypher(
        "MATCH (u:User) RETURN u.handle AS h, u.display_name AS d, u.id AS i, u.created_at AS c"
    )
    assert result.exit_code == 2, result.output
    assert "larger than 1,024 bytes" in result.stderr and "(too_large)" in result.stderr


def test_plan_lines_draw_a_tree() -> None:
    leaf: dict[str, Any] = {
        "operator": "Leaf",
        "details": "",
        "estimated_rows": None,
        "children": [],
    }
    plan = {
        "operator": "Root",
        "details": "x",
        "estimated_rows": 1234.5,
        "children": [
            {"operator": "Left", "details": "", "estimated_rows": 2.0, "children": [leaf]},
            {"operator": "Right", "details": "y", "estimated_rows": 3.0, "children": []},
        ],
    }
    assert plan_lines(plan) == [
        "Root (est. 1,234 rows)  x",
        "├─ Left (est. 2 rows)",
        "│  └─ Leaf",
        "└─ Right (est. 3 rows)  y",
    ]


# ------------------------------------------------------------------ the API side


def analyst(neo: Any, settings: Settings) -> dict[str, str]:
    (a,) = graph_users(neo, settings, 1, prefix="analyst")
    neo.execute_query("MATCH (u:User {id: $id}) SET u.roles = ['analyst']", id=a.id)
    return a.headers


async def test_explain_through_the_api_returns_the_plan(
    client: httpx.AsyncClient, neo: Any, settings: Settings, karate: nx.Graph
) -> None:
    h = analyst(neo, settings)
    r = await client.post("/v1/analytics/cypher", json={"query": "EXPLAIN " + HANDLES}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["rows"] == []
    plan = body["plan"]
    assert plan["operator"] == "ProduceResults"
    assert plan["estimated_rows"] > 0  # the planner's estimate, from Neo4j's statistics
    ops = []
    stack = [plan]
    while stack:
        node = stack.pop()
        ops.append((node["operator"], node["details"]))
        stack.extend(node["children"])
    assert ("NodeByLabelScan", "u:User") in ops

    ran = await client.post("/v1/analytics/cypher", json={"query": COUNT}, headers=h)
    assert ran.json()["plan"] is None and ran.json()["rows"] == [{"n": 35}]
    refused = await client.post(
        "/v1/analytics/cypher", json={"query": "EXPLAIN MATCH (c:Credential) RETURN c"}, headers=h
    )
    assert_error(refused, 400, "query_rejected")


async def test_a_named_query_without_parameters_needs_no_body(
    client: httpx.AsyncClient, neo: Any, settings: Settings, karate: nx.Graph
) -> None:
    h = analyst(neo, settings)
    r = await client.post("/v1/analytics/queries/degree_stats", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["rows"][0]["users"] == 35
    # Defaults still apply; a required parameter is still named when missing.
    r = await client.post("/v1/analytics/queries/most_connected", headers=h)
    assert r.status_code == 200 and len(r.json()["rows"]) == 20
    missing = await client.post("/v1/analytics/queries/triangles_count", headers=h)
    assert_error(missing, 400)
    assert "missing parameter 'user_id'" in missing.json()["error"]["message"]
