"""Analysts cannot starve users (issue 12, finding 3).

The attack: 60 concurrent slow analyst queries made an ordinary user's like wait 10 s and
fail with 503 (the analysts held every pooled Neo4j connection); one analyst response was
262 MB; a Neo4j memory-guard refusal came back as 503 "retry shortly" though a retry fails
the same way. These tests run an app with a small pool (4 connections, 3 s to get one), an
analyst budget of 2 queries at once (1 per analyst) and a 1 MB result cap.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import networkx as nx
import pytest

from api.main import create_app
from core.budget import ConcurrencyBudget
from core.config import Settings
from core.errors import QueryRejected, RateLimited
from graph import analytics
from graph.db import Graph, open_async_driver
from tests.factories import U, api_user, graph_users
from tests.graphs import load_graph
from tests.waiting import poll

CYPHER = "/v1/analytics/cypher"
# Burns one Neo4j core until its timeout: the server ends it with TransactionTimedOut.
SLOW = "UNWIND range(1, 10000000000) AS x WITH x WHERE x < 0 RETURN count(*) AS n"
BIG = "UNWIND range(1, 200) AS i RETURN [x IN range(1, 500) | 'abcdefghijklmnopqrstuvwx'] AS big"
# About 60 M list entries: more than the whole transaction memory pool of the test stack.
HUNGRY = "UNWIND range(1, 60000000) AS x WITH collect(x) AS xs RETURN size(xs) AS n"


@pytest.fixture
async def small(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    tight = settings.model_copy(
        update={
            "neo4j_pool_size": 4,
            "neo4j_connect_timeout": 1.5,  # a pooled connection within 3 s, or 503
            "analyst_max_concurrent": 2,
            "analyst_max_per_user": 1,
            "analyst_max_result_bytes": 1_000_000,
        }
    )
    app = create_app(tight)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


def analysts(neo: Any, settings: Settings, n: int) -> list[U]:
    people = graph_users(neo, settings, n, prefix="analyst")
    neo.execute_query(
        "MATCH (u:User) WHERE u.id IN $ids SET u.roles = ['analyst']",
        ids=[a.id for a in people],
    )
    return people


def running_analyst_queries(neo: Any) -> int:
    recs, _, _ = neo.execute_query(
        "SHOW TRANSACTIONS YIELD metaData, currentQuery "
        "WHERE metaData.kind = 'analyst' AND currentQuery CONTAINS 'range(1, 10000000000)' "
        "RETURN count(*) AS n"
    )
    return int(recs[0]["n"])


async def a_post_to_like(client: httpx.AsyncClient) -> tuple[U, str]:
    author = await api_user(client, "author")
    r = await client.post("/v1/posts", json={"text": "hello"}, headers=author.headers)
    assert r.status_code == 201, r.text
    return await api_user(client, "fan"), r.json()["id"]


async def test_the_budget_refuses_the_next_analyst_query_and_users_go_on(
    small: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    fan, post_id = await a_post_to_like(small)
    a, b, c = analysts(neo, settings, 3)
    slow = {"query": SLOW, "timeout": 4}
    first = [asyncio.create_task(small.post(CYPHER, json=slow, headers=x.headers)) for x in (a, b)]
    running = await poll(
        lambda: asyncio.to_thread(running_analyst_queries, neo), lambda n: n >= 2, timeout=10
    )
    assert running == 2
    again = await small.post(CYPHER, json=slow, headers=a.headers)  # a's second: per analyst
    third = await small.post(CYPHER, json=slow, headers=c.headers)  # c's first: in total
    like = await small.put(f"/v1/posts/{post_id}/like", headers=fan.headers)
    done = await asyncio.gather(*first)
    assert like.status_code == 200, like.text
    for r, scope in ((again, "analyst"), (third, "all")):
        assert r.status_code == 429, r.text
        assert r.json()["error"]["details"]["scope"] == scope
        assert 1 <= int(r.headers["Retry-After"]) <= 5
    assert [r.json()["error"]["details"].get("reason") for r in done] == ["timeout", "timeout"]
    quick = await small.post(CYPHER, json={"query": "RETURN 1 AS one"}, headers=a.headers)
    assert quick.status_code == 200, quick.text  # the slots came back


async def test_a_flood_of_analyst_queries_leaves_users_a_connection(
    small: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    """The issue's scenario, scaled to the small pool: 8 slow queries from 4 analysts at
    once, and a like in the middle of them. Before the budget the analysts held all 4
    connections for 6 s and the like got 503 after waiting its 3 s."""
    fan, post_id = await a_post_to_like(small)
    people = analysts(neo, settings, 4)
    slow = {"query": SLOW, "timeout": 3}
    flood = [
        asyncio.create_task(small.post(CYPHER, json=slow, headers=x.headers))
        for x in people + people
    ]
    await poll(
        lambda: asyncio.to_thread(running_analyst_queries, neo), lambda n: n >= 2, timeout=10
    )
    like = await small.put(f"/v1/posts/{post_id}/like", headers=fan.headers)
    statuses = sorted(r.status_code for r in await asyncio.gather(*flood))
    assert like.status_code == 200, like.text
    assert statuses == [400, 400] + [429] * 6, statuses


async def test_a_result_over_the_byte_cap_is_refused(
    small: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    (a,) = analysts(neo, settings, 1)
    r = await small.post(CYPHER, json={"query": BIG}, headers=a.headers)
    assert r.status_code == 400, r.text[:300]
    error = r.json()["error"]
    assert error["details"]["reason"] == "too_large"
    assert error["details"]["max_bytes"] == 1_000_000
    assert "1,000,000 bytes" in error["message"] and "LIMIT" in error["message"]
    under = await small.post(
        CYPHER, json={"query": BIG.replace("range(1, 200)", "range(1, 20)")}, headers=a.headers
    )
    assert under.status_code == 200 and len(under.json()["rows"]) == 20


async def test_a_memory_guard_refusal_is_a_400_that_says_why(
    small: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    """Provoked for real: the query collects more than the server's transaction memory
    pool (`dbms.memory.transaction.total.max`, 70% of the 512 MB heap on the test stack) and
    Neo4j refuses it with Neo.TransientError.General.MemoryPoolOutOfMemoryError."""
    (a,) = analysts(neo, settings, 1)
    r = await small.post(CYPHER, json={"query": HUNGRY, "timeout": 30}, headers=a.headers)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["details"]["reason"] == "memory"
    assert error["details"]["neo4j_code"] == "Neo.TransientError.General.MemoryPoolOutOfMemoryError"
    assert "memory" in error["message"] and "retry" not in error["message"].split(";")[0]
    assert "Retry-After" not in r.headers


async def test_named_queries_have_the_byte_cap_too(neo: Any, settings: Settings) -> None:
    load_graph(neo, nx.karate_club_graph())
    driver = await open_async_driver(settings)
    try:
        graph = Graph(driver, settings.neo4j_database)
        fits = await analytics.run_named(graph, "most_connected", {"limit": 3}, max_bytes=2048)
        assert len(fits.rows) == 3
        with pytest.raises(QueryRejected) as info:
            await analytics.run_named(graph, "most_connected", {"limit": 34}, max_bytes=1024)
        assert info.value.details == {"reason": "too_large", "max_bytes": 1024}
    finally:
        await driver.close()


def test_the_budget_counts_per_analyst_and_in_total() -> None:
    budget = ConcurrencyBudget(3, 2, what="analyst queries")
    with budget.slot("a"), budget.slot("a"):
        with pytest.raises(RateLimited) as per_analyst:
            with budget.slot("a"):
                pass
        assert per_analyst.value.details == {"scope": "analyst", "limit": 2}
        with budget.slot("b"):
            assert budget.active == 3
            with pytest.raises(RateLimited) as total:
                with budget.slot("c"):
                    pass
            assert total.value.details == {"scope": "all", "limit": 3}
        with budget.slot("c"):
            pass
    assert budget.active == 0
    with pytest.raises(ValueError, match="1"), budget.slot("a"):  # released even on error
        raise ValueError("1")
    assert budget.active == 0


def test_analysts_cannot_be_given_the_whole_pool() -> None:
    with pytest.raises(ValueError, match="ANALYST_MAX_CONCURRENT"):
        Settings(NEO4J_POOL_SIZE=4, ANALYST_MAX_CONCURRENT=4)
