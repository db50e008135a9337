"""Two tiers: tests that need the test stack (Neo4j + Redis on their own ports) and tests
that need no server at all.

A test needs the stack when its fixtures include `stack`. Every fixture that reaches a server
depends on it: `settings` (the test stack's settings, so asking for them brings the stack
up), `neo`, `rds`, `app`, `client` and the per-file fixtures built on them. Collection marks
those tests `integration`; `make test-fast` runs the others (`-m "not integration"`) with no
server running, in seconds. A test that reaches a server (or the package index) without
these fixtures says so with `@pytest.mark.integration`.

`make test` starts the stack; if pytest is run directly, `stack` starts it too. Each
integration test starts from an empty graph and an empty Redis database; the other tests
touch neither.
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
from redislayer.connection import SyncRedis, open_sync_redis
from socialgraph import devstack


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "stack" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def stack() -> Iterator[Settings]:
    s = Settings()
    if s.env != "test":
        pytest.exit(
            "Tests wipe the database: run them through `make test` (SOCIALGRAPH_ENV=test, "
            "the separate test stack), not against the dev stack.",
            returncode=2,
        )
    devstack.up(s)  # idempotent: already up under `make test`
    yield s


@pytest.fixture(scope="session")
def settings(stack: Settings) -> Settings:
    """The running test stack's settings. A test that needs settings but no server builds
    its own `Settings(...)`."""
    return stack


@pytest.fixture(scope="session")
def neo(settings: Settings) -> Iterator[Any]:
    driver = open_sync_driver(settings)
    yield driver
    driver.close()


@pytest.fixture(scope="session")
def rds(settings: Settings) -> Iterator[SyncRedis]:
    """The Redis the app uses: the single server, or the cluster under REDIS_CLUSTER=1
    (then keyless commands such as FLUSHDB and SCRIPT FLUSH go to every primary)."""
    client = open_sync_redis(settings, timeout=5)
    yield client
    client.close()


def wipe(neo: Any, rds: SyncRedis) -> None:
    with neo.session(database="neo4j") as session:
        session.run(q("system.delete_all").text).consume()
    if isinstance(rds, redis.RedisCluster):  # a test may have failed a primary over
        rds.nodes_manager.initialize()
    rds.flushdb()  # on a cluster: on every primary


@pytest.fixture(autouse=True)
def clean(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("integration") is None:
        return  # needs no server: touches none
    settings: Settings = request.getfixturevalue("settings")  # up even if marked by hand
    if "no_clean" in request.keywords:
        return
    neo = request.getfixturevalue("neo")
    rds = request.getfixturevalue("rds")
    devstack.RedisServer(settings).start()  # if a test stopped it
    devstack.redis_cluster_up(settings)  # under REDIS_CLUSTER=1: every node up and ok
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
