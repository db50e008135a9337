"""The per-request facts cached in Redis for speed: who a token's subject is (token version,
roles) and whether one user may message another. Each is asked of Neo4j once, then served
from Redis; every write that changes it applies on the very next request."""

from __future__ import annotations

from typing import Any

import httpx
from typer.testing import CliRunner

from core.config import Settings
from socialgraph.cli import app as cli
from tests.factories import api_user, assert_error, graph_users
from tests.test_cache import queries
from tests.test_inbox import befriend, send


async def test_principal_is_read_once_then_cached(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    (u,) = graph_users(neo, settings, 1)
    before = queries("users.principal")
    for _ in range(10):
        assert (await client.get("/v1/users/me", headers=u.headers)).status_code == 200
    assert queries("users.principal") - before == 1


async def test_logout_revokes_a_cached_principal_at_once(client: httpx.AsyncClient) -> None:
    u = await api_user(client, "henry")
    other = await client.post(
        "/v1/auth/token", data={"username": "henry", "password": "correct horse battery"}
    )
    second = {"Authorization": f"Bearer {other.json()['access_token']}"}
    for headers in (u.headers, second, u.headers):  # the principal is cached by now
        assert (await client.get("/v1/users/me", headers=headers)).status_code == 200
    assert (await client.post("/v1/auth/logout", headers=second)).status_code == 204
    for headers in (u.headers, second):
        assert_error(await client.get("/v1/users/me", headers=headers), 401)


async def test_role_change_from_the_cli_applies_on_the_next_request(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    (u,) = graph_users(neo, settings, 1)
    assert_error(await client.get("/v1/analytics/queries", headers=u.headers), 403)  # cached

    result = CliRunner().invoke(cli, ["grant-role", u.handle, "analyst"])
    assert result.exit_code == 0, result.output
    assert (await client.get("/v1/analytics/queries", headers=u.headers)).status_code == 200

    result = CliRunner().invoke(cli, ["grant-role", u.handle, "analyst", "--revoke"])
    assert result.exit_code == 0, result.output
    assert_error(await client.get("/v1/analytics/queries", headers=u.headers), 403)


async def test_message_permission_cached_and_invalidated(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    a, b = graph_users(neo, settings, 2)
    await befriend(client, a, b)
    before = queries("messages.can_message")
    for i in range(5):
        assert (await send(client, a, b, f"hi {i}")).status_code == 201
    assert queries("messages.can_message") - before == 1

    # Unfriending (b accepts messages from friends only) applies to the next send.
    assert (await client.delete(f"/v1/friends/{b.id}", headers=a.headers)).status_code == 204
    assert_error(await send(client, a, b, "still friends?"), 403)
    # The other direction was never cached: it is refused too.
    assert_error(await send(client, b, a, "and back?"), 403)

    await befriend(client, b, a)
    assert (await send(client, a, b, "friends again")).status_code == 201
    # A block by the recipient hides them (404), at once.
    r = await client.post("/v1/blocks", json={"user_id": a.id}, headers=b.headers)
    assert r.status_code in (200, 201, 204), r.text
    assert_error(await send(client, a, b, "blocked"), 404)
