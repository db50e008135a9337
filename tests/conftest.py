"""Tests run against the real test stack (Neo4j + Redis on their own ports).

`make test` starts it; if pytest is run directly, the session fixture starts it too.
Each test starts from an empty graph and an empty Redis database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import redis

from api.main import create_app
from core.config import Settings
from graph.db import open_sync_driver
from graph.queries import q
from socialgraph import devstack


@pytest.fixture(scope="session")
def settings() -> Settings:
    s = Settings()
    if s.env != "test":
        pytest.exit(
            "Tests wipe the database: run them through `make test` (SOCIALGRAPH_ENV=test, "
            "the separate test stack), not against the dev stack.",
            returncode=2,
        )
    return s


@pytest.fixture(scope="session", autouse=True)
def stack(settings: Settings) -> Iterator[Settings]:
    devstack.up(settings)  # idempotent: already up under `make test`
    yield settings


@pytest.fixture(scope="session")
def neo(settings: Settings, stack: Settings) -> Iterator[Any]:
    driver = open_sync_driver(settings)
    yield driver
    driver.close()


@pytest.fixture(scope="session")
def rds(settings: Settings, stack: Settings) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(settings.redis_url, decode_responses=True, socket_timeout=5)
    yield client
    client.close()


def wipe(neo: Any, rds: redis.Redis) -> None:
    with neo.session(database="neo4j") as session:
        session.run(q("system.delete_all").text).consume()
    rds.flushdb()


@pytest.fixture(autouse=True)
def clean(request: pytest.FixtureRequest) -> None:
    if "no_clean" in request.keywords:
        return
    neo = request.getfixturevalue("neo")
    rds = request.getfixturevalue("rds")
    devstack.RedisServer(request.getfixturevalue("settings")).start()  # if a test stopped it
    wipe(neo, rds)


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[Any]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c
