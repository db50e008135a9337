"""Durable sends (REDIS_DURABLE_SENDS, docs/failover.md) where no replica can confirm: the
setting is refused when its WAIT could outlive the socket timeout, and on a single Redis
server (no replica) a send is a prompt 503 that says what to do, never a hang or a 500.
The cluster side (a replica that does not confirm, retries, failover) is in
tests/test_inbox_cluster.py and tests/test_failover.py."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from api.main import create_app
from core.config import Settings
from tests.factories import assert_error, graph_users
from tests.test_inbox import befriend, key


def test_a_durable_timeout_not_below_the_redis_timeout_is_refused() -> None:
    with pytest.raises(ValidationError, match="REDIS_DURABLE_TIMEOUT_MS"):
        Settings(REDIS_DURABLE_SENDS=True, REDIS_DURABLE_TIMEOUT_MS=500, REDIS_TIMEOUT=0.5)
    ok = Settings(REDIS_DURABLE_SENDS=True, REDIS_DURABLE_TIMEOUT_MS=250, REDIS_TIMEOUT=0.5)
    assert ok.redis_durable_timeout_ms == 250
    # Off, the timeout is not used and not checked.
    Settings(REDIS_DURABLE_SENDS=False, REDIS_DURABLE_TIMEOUT_MS=500, REDIS_TIMEOUT=0.5)


@pytest.fixture
async def durable_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app with durable sends on, against the test stack's single Redis server (which
    has no replica), whichever mode the suite runs in."""
    durable = settings.model_copy(update={"redis_cluster": False, "redis_durable_sends": True})
    app = create_app(durable)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


async def test_durable_send_without_a_replica_is_a_prompt_503_saying_what_to_do(
    durable_client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    a, b = graph_users(neo, settings, 2)
    await befriend(durable_client, a, b)
    idem = key()
    for _ in range(2):  # the retry with the same key is refused the same way
        started = time.monotonic()
        r = await durable_client.post(
            "/v1/messages",
            json={"to": b.id, "text": "is anyone keeping this?"},
            headers={**a.headers, "Idempotency-Key": idem},
        )
        assert time.monotonic() - started < 2.0  # the WAIT timeout (250 ms) per step, no hang
        assert_error(r, 503, "unavailable")
        error = r.json()["error"]
        assert "REDIS_DURABLE_SENDS" in error["message"], error
        assert "Idempotency-Key" in error["message"], error
        assert error["details"] == {"replicas_required": 1, "replicas_confirmed": 0}
