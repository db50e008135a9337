"""Ad-hoc analyst Cypher: every write or administrative attempt is refused with
QueryRejected and leaves the graph exactly as it was; syntax errors and timeouts are
QueryRejected too; the row cap truncates; results are JSON-safe and never carry a
password hash."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import networkx as nx
import pytest

from core.config import Settings
from core.errors import QueryRejected
from graph.adhoc import explain_text, run_adhoc
from graph.db import Graph, open_async_driver
from tests.graphs import load_graph, user_id

ISO_DATETIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)"
HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"


@pytest.fixture(scope="session")
async def agraph(settings: Settings, stack: Settings) -> AsyncIterator[Graph]:
    driver = await open_async_driver(settings)
    yield Graph(driver, settings.neo4j_database)
    await driver.close()


@pytest.fixture
def loaded(neo: Any) -> None:
    load_graph(neo, nx.cycle_graph(6))
    neo.execute_query(
        "MATCH (u:User {id: $id}) SET u.password_hash = $hash, u.roles = ['analyst']",
        {"id": user_id(0), "hash": HASH},
    )


def snapshot(neo: Any) -> dict[str, Any]:
    """Everything a write could change: data, tokens and schema."""

    def one(query: str) -> Any:
        records, _, _ = neo.execute_query(query, database_="neo4j")
        return records[0][0]

    return {
        "nodes": one("MATCH (n) RETURN count(n)"),
        "relationships": one("MATCH ()-[r]->() RETURN count(r)"),
        "properties": one("MATCH (n) RETURN collect(properties(n))"),
        "labels": one("CALL db.labels() YIELD label RETURN collect(label)"),
        "types": one("CALL db.relationshipTypes() YIELD relationshipType AS t RETURN collect(t)"),
        "property_keys": one("CALL db.propertyKeys() YIELD propertyKey AS k RETURN collect(k)"),
        "schema": one("SHOW INDEXES YIELD name RETURN collect(name)"),
        "databases": one("SHOW DATABASES YIELD name RETURN collect(name)"),
        "users": one("SHOW USERS YIELD user RETURN collect(user)"),
    }  # fmt: skip


# Writes reach Neo4j and are refused by the READ transaction itself.
WRITES = [
    "CREATE (n:Intruder {x: 1}) RETURN n",
    "MERGE (n:User {id: 't-0'}) ON MATCH SET n.handle = 'owned' RETURN n",
    "MATCH (u:User) SET u.roles = ['admin'] RETURN count(u)",
    "MATCH (u:User) REMOVE u.handle RETURN count(u)",
    "MATCH (u:User {id: 't-1'}) DELETE u",
    "MATCH (u:User) DETACH DELETE u",
    "MATCH ()-[f:FRIENDS]->() DELETE f",
    "MATCH (a:User {id: 't-0'}), (b:User {id: 't-3'}) CREATE (a)-[:FRIENDS]->(b)",
    "UNWIND range(1, 3) AS i CALL (i) { CREATE (:Intruder {i: i}) } RETURN count(*)",
    "MATCH (u:User) FOREACH (x IN [1] | SET u.pwned = true)",
    "CALL db.createLabel('IntruderLabel')",
    "CALL db.createProperty('intruder_property')",
    "CALL db.createRelationshipType('INTRUDER_TYPE')",
    "CREATE INDEX intruder_index FOR (n:User) ON (n.bio)",
    "DROP CONSTRAINT user_id_unique IF EXISTS",
    "// a comment first\nCREATE (:Intruder)",
]


@pytest.mark.parametrize("text", WRITES)
async def test_writes_are_refused_by_the_read_transaction(
    agraph: Graph, neo: Any, loaded: None, text: str
) -> None:
    before = snapshot(neo)
    with pytest.raises(QueryRejected) as info:
        await run_adhoc(agraph, text, {})
    assert info.value.details["neo4j_code"] == "Neo.ClientError.Statement.AccessMode"
    assert "read access mode" in info.value.message
    assert snapshot(neo) == before


# Things a read transaction would allow: refused by our own checks, before they run.
REFUSED = [
    ("LOAD CSV FROM 'file:///users.csv' AS row RETURN row", "operator"),
    ("LOAD CSV WITH HEADERS FROM 'http://127.0.0.1:9/x.csv' AS row CREATE (:X {v: row.v})",
     "operator"),
    ("CALL db.clearQueryCaches()", "procedure"),
    ("CALL `db`.`clearQueryCaches`() YIELD value RETURN value", "procedure"),
    ("/* hidden */ CALL dbms.killConnections(['bolt-1'])", "procedure"),
    ("CALL dbms.listConfig() YIELD name, value RETURN name, value", "procedure"),
    ("CALL db.stats.collect('QUERIES')", "procedure"),
    ("CALL db.resampleOutdatedIndexes()", "procedure"),
    ("SHOW USERS", "administrative"),
    ("show current user", "administrative"),
    ("CREATE DATABASE intruder", "administrative"),
    ("CREATE USER intruder SET PASSWORD 'secret-secret'", "administrative"),
    ("GRANT ROLE admin TO neo4j", "administrative"),
    ("ALTER USER neo4j SET PASSWORD 'changed-changed'", "administrative"),
    ("STOP DATABASE neo4j", "administrative"),
    ("TERMINATE TRANSACTIONS 'neo4j-transaction-1'", "administrative"),
    ("SHOW TRANSACTIONS", "administrative"),
    ("SHOW SETTINGS", "administrative"),
    ("USE system SHOW DATABASES", "administrative"),
    ("PROFILE SHOW USERS", "administrative"),
    ("MATCH (u:User) RETURN u.password_hash", "secret"),
    ("", "empty"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "reason"), REFUSED)
async def test_refused_before_running(
    agraph: Graph, neo: Any, loaded: None, text: str, reason: str
) -> None:
    before = snapshot(neo)
    with pytest.raises(QueryRejected) as info:
        await run_adhoc(agraph, text, {})
    assert info.value.details["reason"] == reason
    assert snapshot(neo) == before


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        # The text check only looks at the leading keyword; a CYPHER prefix hides it,
        # the server-parsed plan does not.
        ("CYPHER 5 SHOW DATABASES", "database"),
        ("CYPHER 5 SHOW USERS", "database"),
        ("CYPHER 5 SHOW TRANSACTIONS", "operator"),
        ("CYPHER 5 TERMINATE TRANSACTIONS 'neo4j-transaction-1'", "operator"),
        ("CYPHER 5 SHOW SETTINGS", "operator"),
    ],
)
async def test_plan_check_catches_what_the_text_check_misses(
    agraph: Graph, neo: Any, loaded: None, text: str, reason: str
) -> None:
    before = snapshot(neo)
    with pytest.raises(QueryRejected) as info:
        await run_adhoc(agraph, text, {})
    assert info.value.details.get("reason") == reason, info.value.message
    assert snapshot(neo) == before


async def test_syntax_error_is_rejected_with_neo4j_message(agraph: Graph) -> None:
    with pytest.raises(QueryRejected) as info:
        await run_adhoc(agraph, "MATCH (n RETURN n", {})
    assert info.value.details["neo4j_code"] == "Neo.ClientError.Statement.SyntaxError"
    assert "Invalid input" in info.value.message


async def test_two_statements_are_rejected(agraph: Graph, neo: Any, loaded: None) -> None:
    before = snapshot(neo)
    with pytest.raises(QueryRejected):
        await run_adhoc(agraph, "MATCH (n) RETURN count(n); MATCH (n) DETACH DELETE n", {})
    assert snapshot(neo) == before


async def test_long_query_times_out(agraph: Graph) -> None:
    started = time.monotonic()
    with pytest.raises(QueryRejected, match="timeout") as info:
        await run_adhoc(
            agraph,
            "UNWIND range(1, 100000000) AS x WITH x WHERE x % 7 = 123456 RETURN count(*)",
            {},
            timeout=1.0,
        )
    assert info.value.details["reason"] == "timeout"
    assert "TransactionTimedOut" in info.value.details["neo4j_code"]
    assert time.monotonic() - started < 15


async def test_row_cap_truncates(agraph: Graph) -> None:
    result = await run_adhoc(agraph, "UNWIND range(1, $n) AS x RETURN x", {"n": 50}, row_cap=10)
    assert result.columns == ["x"]
    assert [r["x"] for r in result.rows] == list(range(1, 11))
    assert result.truncated
    exact = await run_adhoc(agraph, "UNWIND range(1, 10) AS x RETURN x", {}, row_cap=10)
    assert len(exact.rows) == 10 and not exact.truncated
    assert exact.elapsed_ms > 0


async def test_params_are_values_not_text(agraph: Graph, neo: Any, loaded: None) -> None:
    evil = "t-0'}) DETACH DELETE u //"
    result = await run_adhoc(
        agraph, "MATCH (u:User) WHERE u.id = $id RETURN u.handle AS h, $id AS echoed", {"id": evil}
    )
    assert result.rows == []
    result = await run_adhoc(agraph, "RETURN $id AS echoed", {"id": evil})
    assert result.rows == [{"echoed": evil}]
    assert snapshot(neo)["nodes"] == 6


@pytest.mark.parametrize(
    "text",
    [
        "MATCH (u:User) RETURN u.handle AS handle ORDER BY handle",
        "// leading comment\nMATCH (u:User) RETURN count(u) AS n",
        "PROFILE MATCH (u:User) RETURN count(u) AS n",
        "CYPHER 5 MATCH (u:User) RETURN count(u) AS n",
        "EXPLAIN MATCH (u:User) RETURN u",
        "CALL db.labels() YIELD label RETURN label",
        "SHOW INDEXES YIELD name RETURN name",
        "CALL dbms.components() YIELD name RETURN name",
        "CALL db.schema.visualization()",
    ],
)
async def test_reads_are_allowed(agraph: Graph, loaded: None, text: str) -> None:
    result = await run_adhoc(agraph, text, {})
    json.dumps(result.to_dict(), allow_nan=False)


async def test_notifications_are_reported(agraph: Graph) -> None:
    result = await run_adhoc(agraph, "MATCH (n:NoSuchLabel) RETURN n", {})
    assert result.rows == []
    assert any("NoSuchLabel" in note for note in result.notifications)


def test_explain_text_forms() -> None:
    assert explain_text("MATCH (n) RETURN n") == ("EXPLAIN MATCH (n) RETURN n", False)
    assert explain_text("// c\nprofile MATCH (n) RETURN n") == (
        "// c\nEXPLAIN MATCH (n) RETURN n",
        False,
    )
    assert explain_text("EXPLAIN MATCH (n) RETURN n") == ("EXPLAIN MATCH (n) RETURN n", True)


# ------------------------------------------------------------------ serialization


async def test_graph_values_serialize_to_json_without_secrets(
    agraph: Graph, neo: Any, loaded: None
) -> None:
    neo.execute_query(
        "MATCH (u:User {id: $id}) SET u.home = point({longitude: 13.4, latitude: 52.5}), "
        "u.joined = date('2024-02-29'), u.avatar = $blob",
        {"id": user_id(0), "blob": b"\x00\x01png"},
    )
    result = await run_adhoc(
        agraph,
        """
        MATCH p = (a:User {id: $a})-[f:FRIENDS]-(b:User)
        RETURN a, f, p, b,
               a.created_at AS created, a.joined AS joined, a.home AS home, a.avatar AS avatar,
               localdatetime('2024-05-06T07:08:09.123456789') AS ldt,
               time('10:11:12+02:00') AS t, localtime('10:11:12') AS lt,
               duration('P1Y2M3DT4H5M6.5S') AS dur,
               point({x: 1.5, y: 2.5}) AS xy, point({x: 1, y: 2, z: 3}) AS xyz,
               $bytes AS bytes, 0.0 / 0.0 AS nan,
               properties(a) AS props, a {.*} AS projection, [a, {nested: [a]}] AS nested,
               a['pass' + 'word_hash'] AS sneaky
        ORDER BY b.id LIMIT 1
        """,
        {"a": user_id(0), "bytes": b"\xff\x00"},
    )
    (row,) = result.rows
    text = json.dumps(row, allow_nan=False)
    assert "argon2" not in text and "password_hash" not in text
    a = row["a"]
    assert a["labels"] == ["User"] and a["properties"]["id"] == user_id(0)
    assert a["properties"]["roles"] == ["analyst"]
    assert a["properties"]["home"] == {"srid": 4326, "x": 13.4, "y": 52.5}
    assert a["properties"]["avatar"] == "AAFwbmc="
    assert isinstance(a["element_id"], str)
    f = row["f"]
    assert f["type"] == "FRIENDS" and {f["start"], f["end"]} == {
        a["element_id"],
        row["b"]["element_id"],
    }
    assert f["properties"]["pair"] == f"{user_id(0)}|{user_id(1)}"
    assert re.fullmatch(ISO_DATETIME, f["properties"]["since"])
    assert [n["properties"]["id"] for n in row["p"]["nodes"]] == [user_id(0), user_id(1)]
    assert row["p"]["relationships"][0]["element_id"] == f["element_id"]
    assert row["joined"] == "2024-02-29"
    assert row["ldt"] == "2024-05-06T07:08:09.123456789"
    assert row["t"] == "10:11:12.000000000+02:00" and row["lt"] == "10:11:12.000000000"
    assert row["dur"] == "P1Y2M3DT4H5M6.5S"
    assert row["xy"] == {"srid": 7203, "x": 1.5, "y": 2.5}
    assert row["xyz"] == {"srid": 9157, "x": 1.0, "y": 2.0, "z": 3.0}
    assert row["bytes"] == "/wA=" and row["avatar"] == "AAFwbmc="
    assert row["nan"] is None
    assert "password_hash" not in row["props"] and "password_hash" not in row["projection"]
    assert row["nested"][1]["nested"][0]["properties"]["id"] == user_id(0)
    assert row["sneaky"] == "[redacted]"
    assert re.fullmatch(ISO_DATETIME, row["created"])
    assert row["created"].startswith(str(datetime.now(UTC).year))
