"""`POST /v1/auth/token` also takes OAuth2's `grant_type=refresh_token` (RFC 6749
section 6), with the rotation and reuse detection of `POST /v1/auth/refresh`
(tests/test_refresh_rotation.py); the two share one family (issue 13)."""

from __future__ import annotations

import httpx

from core.config import Settings
from tests.factories import assert_error
from tests.test_refresh_rotation import account, dead_redis_client, me, refresh


async def grant(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(
        "/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": token}
    )


async def test_refresh_grant_rotates(client: httpx.AsyncClient) -> None:
    tokens = await account(client, "granta")
    seen = {tokens["refresh_token"]}
    for _ in range(3):
        r = await grant(client, tokens["refresh_token"])
        assert r.status_code == 200, r.text
        tokens = r.json()
        assert tokens["token_type"] == "bearer" and tokens["refresh_token"] not in seen
        seen.add(tokens["refresh_token"])
        assert await me(client, tokens["access_token"]) == 200


async def test_reuse_is_detected_across_both_endpoints(client: httpx.AsyncClient) -> None:
    t0 = await account(client, "grantb")
    t1 = (await grant(client, t0["refresh_token"])).json()
    # The token used up through the form comes back through the JSON endpoint: reuse.
    reuse = await refresh(client, t0["refresh_token"])
    assert_error(reuse, 401, "unauthorized")
    assert "reuse" in reuse.json()["error"]["message"]
    assert_error(await grant(client, t1["refresh_token"]), 401)  # the family is revoked

    u0 = await account(client, "grantc")
    u1 = (await refresh(client, u0["refresh_token"])).json()
    reuse = await grant(client, u0["refresh_token"])
    assert_error(reuse, 401, "unauthorized")
    assert "reuse" in reuse.json()["error"]["message"]
    assert_error(await refresh(client, u1["refresh_token"]), 401)


async def test_form_checks_the_fields_of_its_grant(client: httpx.AsyncClient) -> None:
    tokens = await account(client, "grantd")
    r = await client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": "grantd", "password": "correct horse battery"},
    )
    assert r.status_code == 200, r.text
    for data in (
        {"grant_type": "refresh_token"},
        {"grant_type": "refresh_token", "username": "grantd", "password": "x"},
        {"grant_type": "password", "refresh_token": tokens["refresh_token"]},
        {"username": "grantd"},
        {"grant_type": "client_credentials", "refresh_token": tokens["refresh_token"]},
    ):
        assert_error(await client.post("/v1/auth/token", data=data), 422, "validation_error")
    # None of those used the refresh token up.
    assert (await grant(client, tokens["refresh_token"])).status_code == 200


async def test_token_kind_messages_read_well(client: httpx.AsyncClient) -> None:
    tokens = await account(client, "grante")
    r = await grant(client, tokens["access_token"])
    assert_error(r, 401, "unauthorized")
    assert r.json()["error"]["message"] == "expected a refresh token"
    r = await client.get(
        "/v1/users/me", headers={"Authorization": f"Bearer {tokens['refresh_token']}"}
    )
    assert_error(r, 401, "unauthorized")
    assert r.json()["error"]["message"] == "expected an access token"


async def test_refresh_grant_fails_closed_while_redis_is_down(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    t0 = await account(client, "grantf")
    async for down in dead_redis_client(settings):
        assert_error(await grant(down, t0["refresh_token"]), 503, "unavailable")
    assert (await grant(client, t0["refresh_token"])).status_code == 200
    assert_error(await grant(client, t0["refresh_token"]), 401)
