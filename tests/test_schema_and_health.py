"""Schema migration is idempotent; /healthz and /readyz report the real dependencies."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from core.config import Settings
from graph.db import open_async_driver
from graph.schema import migrate
from tests import redisstack


def _schema_state(neo: Any) -> tuple[list[Any], list[Any]]:
    cons, _, _ = neo.execute_query(
        "SHOW CONSTRAINTS YIELD name, type, labelsOrTypes, properties "
        "RETURN name, type, labelsOrTypes, properties ORDER BY name"
    )
    idx, _, _ = neo.execute_query(
        "SHOW INDEXES YIELD name, type, labelsOrTypes, properties "
        "RETURN name, type, labelsOrTypes, properties ORDER BY name"
    )
    return [r.data() for r in cons], [r.data() for r in idx]


async def test_migration_is_idempotent(settings: Settings, neo: Any) -> None:
    driver = await open_async_driver(settings)
    try:
        first = await migrate(driver, settings.neo4j_database)
        state1 = _schema_state(neo)
        second = await migrate(driver, settings.neo4j_database)
        state2 = _schema_state(neo)
    finally:
        await driver.close()
    assert first == second
    assert state1 == state2
    names = {c["name"] for c in state1[0]}
    assert {"user_id_unique", "user_handle_unique", "friends_pair_unique"} <= names


async def test_healthz(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


async def test_readyz_follows_redis(client: httpx.AsyncClient, settings: Settings) -> None:
    r = await client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["neo4j"]["status"] == "ok" and r.json()["redis"]["status"] == "ok"

    server = redisstack.server(settings)
    server.stop()
    try:
        r = await client.get("/readyz")
        assert r.status_code == 503
        body = r.json()
        assert body["status"] == "unavailable"
        assert body["redis"]["status"] == "down"
        assert body["neo4j"]["status"] == "ok"
    finally:
        server.start()
    r = await client.get("/readyz")
    assert r.status_code == 200 and r.json()["redis"]["status"] == "ok"


async def test_unknown_route_uses_the_error_body(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/nope")
    assert r.status_code == 404
    assert set(r.json()["error"]) == {"code", "message", "details"}


@pytest.mark.parametrize("size", [70_000])
async def test_body_size_limit(client: httpx.AsyncClient, size: int) -> None:
    r = await client.post("/v1/anything", content=b"x" * size)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"
