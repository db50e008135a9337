"""Analyst endpoints: role-gated; ad-hoc Cypher is read-only, bounded and never a 500."""

from __future__ import annotations

from typing import Any

import httpx
import networkx as nx

from core.config import Settings
from tests.factories import assert_error, graph_users
from tests.graphs import load_graph, user_id


def analyst(neo: Any, settings: Settings) -> dict[str, str]:
    (a,) = graph_users(neo, settings, 1, prefix="analyst")
    neo.execute_query("MATCH (u:User {id: $id}) SET u.roles = ['analyst']", id=a.id)
    return a.headers


def state(neo: Any) -> tuple[int, int]:
    recs, _, _ = neo.execute_query("RETURN COUNT { () } AS n, COUNT { ()-[]->() } AS r")
    return recs[0]["n"], recs[0]["r"]


async def test_non_analyst_gets_403(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    (u,) = graph_users(neo, settings, 1)
    assert_error(await client.get("/v1/analytics/queries", headers=u.headers), 403)
    assert_error(
        await client.post("/v1/analytics/cypher", json={"query": "RETURN 1"}, headers=u.headers),
        403,
    )
    assert_error(
        await client.post("/v1/analytics/queries/most_connected", json={}, headers=u.headers), 403
    )


async def test_catalog_and_named_query(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    g = nx.karate_club_graph()
    load_graph(neo, g)
    h = analyst(neo, settings)
    cat = (await client.get("/v1/analytics/queries", headers=h)).json()
    names = {e["name"] for e in cat}
    assert {"degree_distribution", "shortest_path", "local_clustering"} <= names
    r = await client.post(
        "/v1/analytics/queries/triangles_count", json={"params": {"user_id": user_id(0)}}, headers=h
    )
    assert r.status_code == 200, r.text
    assert r.json()["rows"][0]["triangles"] == nx.triangles(g, 0)
    assert_error(await client.post("/v1/analytics/queries/nope", json={}, headers=h), 404)


async def test_adhoc_cannot_write(client: httpx.AsyncClient, neo: Any, settings: Settings) -> None:
    h = analyst(neo, settings)
    before = state(neo)
    for query in [
        "CREATE (n:Hacked) RETURN n",
        "MERGE (n:Hacked {x: 1}) RETURN n",
        "MATCH (u:User) SET u.bio = 'pwned' RETURN u",
        "MATCH (u:User) DETACH DELETE u",
        "CALL db.createLabel('Hacked')",
        "LOAD CSV FROM 'file:///etc/passwd' AS row RETURN row",
        "CREATE INDEX hacked FOR (n:Hacked) ON (n.x)",
        "RETURN 1 +",
    ]:
        r = await client.post("/v1/analytics/cypher", json={"query": query}, headers=h)
        assert_error(r, 400)
        assert r.json()["error"]["message"], query
    assert state(neo) == before
    recs, _, _ = neo.execute_query("MATCH (u:User) RETURN u.bio AS bio")
    assert all(r["bio"] != "pwned" for r in recs)


async def test_adhoc_timeout_and_row_cap(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    h = analyst(neo, settings)
    slow = "UNWIND range(1, 100000000) AS x WITH x WHERE x % 7 = 123456 RETURN count(*)"
    r = await client.post("/v1/analytics/cypher", json={"query": slow, "timeout": 0.5}, headers=h)
    assert_error(r, 400)
    r = await client.post(
        "/v1/analytics/cypher",
        json={"query": "UNWIND range(1, 50) AS x RETURN x, datetime() AS t", "row_cap": 10},
        headers=h,
    )
    body = r.json()
    assert r.status_code == 200 and body["truncated"] is True and len(body["rows"]) == 10
    assert isinstance(body["rows"][0]["t"], str)


async def test_adhoc_hides_password_hashes(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    h = analyst(neo, settings)
    neo.execute_query("MATCH (u:User) SET u.password_hash = '$argon2id$v=19$m=19456,t=2,p=1$x$y'")
    r = await client.post(
        "/v1/analytics/cypher", json={"query": "MATCH (u:User) RETURN u"}, headers=h
    )
    assert r.status_code == 200
    assert "argon2" not in r.text
