"""Accounts and tokens: Argon2id hashes, pinned HS256 with exp/iss/aud, revocation."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
import pytest

from api import security
from core.config import Settings
from tests.factories import api_user, assert_error


async def test_register_login_me(client: httpx.AsyncClient, neo: Any) -> None:
    alice = await api_user(client, "Alice")
    r = await client.get("/v1/users/me", headers=alice.headers)
    assert r.status_code == 200
    me = r.json()
    assert me["handle"] == "Alice" and me["who_can_message"] == "friends" and me["discoverable"]
    assert "password_hash" not in me
    recs, _, _ = neo.execute_query(
        "MATCH (u:User {id: $id}), (c:Credential {user_id: $id}) "
        "RETURN u.password_hash AS on_user, c.hash AS h, c.pepper_id AS pepper",
        id=alice.id,
    )
    assert recs[0]["on_user"] is None and recs[0]["pepper"] == "dev"
    assert recs[0]["h"].startswith("$argon2id$v=19$m=19456,t=2,p=1$")


async def test_handle_unique_case_insensitive(client: httpx.AsyncClient) -> None:
    await api_user(client, "bob_1")
    r = await client.post("/v1/users", json={"handle": "BOB_1", "password": "another password"})
    assert_error(r, 409, "conflict")


@pytest.mark.parametrize("extra", [{"id": "mine"}, {"roles": ["analyst"]}, {"token_version": 9}])
async def test_mass_assignment_rejected(
    client: httpx.AsyncClient, neo: Any, extra: dict[str, Any]
) -> None:
    r = await client.post(
        "/v1/users", json={"handle": "mallory", "password": "long password", **extra}
    )
    assert_error(r, 422, "validation_error")
    recs, _, _ = neo.execute_query("MATCH (u:User) RETURN count(u) AS n")
    assert recs[0]["n"] == 0


async def test_profile_update_rejects_unknown_fields(client: httpx.AsyncClient) -> None:
    u = await api_user(client, "carol")
    r = await client.patch("/v1/users/me", json={"roles": ["analyst"]}, headers=u.headers)
    assert_error(r, 422)
    r = await client.patch("/v1/users/me", json={"bio": "x" * 281}, headers=u.headers)
    assert_error(r, 422)
    r = await client.patch(
        "/v1/users/me", json={"bio": "hi", "who_can_message": "everyone"}, headers=u.headers
    )
    assert r.status_code == 200 and r.json()["bio"] == "hi"
    assert r.json()["who_can_message"] == "everyone" and r.json()["roles"] == []


@pytest.mark.parametrize("handle", ["ab", "has space", "x" * 31, "semi;colon"])
async def test_bad_handles(client: httpx.AsyncClient, handle: str) -> None:
    r = await client.post("/v1/users", json={"handle": handle, "password": "long password"})
    assert_error(r, 422)


async def test_wrong_password_and_unknown_user(client: httpx.AsyncClient) -> None:
    await api_user(client, "dave")
    for username, password in [("dave", "wrong password"), ("nobody", "whatever pass")]:
        r = await client.post("/v1/auth/token", data={"username": username, "password": password})
        assert_error(r, 401, "unauthorized")


def _forge(settings: Settings, sub: str, **over: Any) -> str:
    now = int(time.time())
    payload = {
        "sub": sub,
        "ver": 0,
        "typ": "access",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
    }
    key = over.pop("_key", settings.jwt_secret)
    alg = over.pop("_alg", "HS256")
    payload.update(over)
    return jwt.encode(payload, key, algorithm=alg)


async def test_jwt_attacks_all_401(client: httpx.AsyncClient, settings: Settings) -> None:
    u = await api_user(client, "erin")
    good = _forge(settings, u.id)
    r = await client.get("/v1/users/me", headers={"Authorization": f"Bearer {good}"})
    assert r.status_code == 200  # the forge helper is right, so the failures below mean something

    header_none = jwt.utils.base64url_encode(b'{"alg":"none","typ":"JWT"}').decode()
    body = good.split(".")[1]
    forged = {
        "alg_none": f"{header_none}.{body}.",
        "other_key": _forge(settings, u.id, _key="another-secret-that-is-long-enough-0123"),
        "wrong_aud": _forge(settings, u.id, aud="someone-else"),
        "wrong_iss": _forge(settings, u.id, iss="evil"),
        "expired": _forge(
            settings,
            u.id,
            iat=int(time.time()) - 7200,
            nbf=int(time.time()) - 7200,
            exp=int(time.time()) - 3600,
        ),
        "refresh_as_access": security.issue(settings, u.id, 0, "refresh")[0],
        "hs512": _forge(settings, u.id, _alg="HS512"),
        "garbage": "not.a.token",
    }
    for name, token in forged.items():
        r = await client.get("/v1/users/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, name
        assert r.json()["error"]["code"] == "unauthorized", name
    r = await client.get("/v1/users/me")
    assert_error(r, 401)


async def test_a_verified_token_stops_working_when_it_expires(
    client: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Verified tokens are remembered per process; the memory must not outlive `exp`."""
    u = await api_user(client, "ivy")
    now = int(time.time())
    # Expired 2 s ago: still inside the 5 s leeway for about three more seconds.
    token = _forge(settings, u.id, iat=now - 60, nbf=now - 60, exp=now - 2)
    headers = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/v1/users/me", headers=headers)).status_code == 200
    assert (await client.get("/v1/users/me", headers=headers)).status_code == 200  # remembered
    # Both checks (the memory's and pyjwt's) accept while `now <= exp + LEEWAY_S`, reading the
    # leeway at each call: a leeway 4 s shorter is the clock 4 s later, for both, no waiting.
    monkeypatch.setattr(security, "LEEWAY_S", security.LEEWAY_S - 4)
    assert_error(await client.get("/v1/users/me", headers=headers), 401)
    # A token verified under one secret is not accepted under another.
    other = settings.model_copy(update={"jwt_secret": "another-secret-that-is-long-enough-0123"})
    fresh = security.issue(settings, u.id, 0, "access")[0]
    assert security.decode(settings, fresh, "access").sub == u.id
    with pytest.raises(security.TokenError):
        security.decode(other, fresh, "access")


async def test_refresh_and_logout_revoke(client: httpx.AsyncClient) -> None:
    await client.post("/v1/users", json={"handle": "frank", "password": "correct horse"})
    t = (
        await client.post("/v1/auth/token", data={"username": "frank", "password": "correct horse"})
    ).json()
    r = await client.post("/v1/auth/refresh", json={"refresh_token": t["refresh_token"]})
    assert r.status_code == 200
    new = r.json()
    auth = {"Authorization": f"Bearer {new['access_token']}"}
    assert (await client.post("/v1/auth/logout", headers=auth)).status_code == 204
    for token in (t["access_token"], new["access_token"]):
        r = await client.get("/v1/users/me", headers={"Authorization": f"Bearer {token}"})
        assert_error(r, 401)
    r = await client.post("/v1/auth/refresh", json={"refresh_token": new["refresh_token"]})
    assert_error(r, 401)


async def test_deleted_user_token_stops_working(client: httpx.AsyncClient, neo: Any) -> None:
    u = await api_user(client, "gina")
    assert (await client.delete("/v1/users/me", headers=u.headers)).status_code == 204
    r = await client.get("/v1/users/me", headers=u.headers)
    assert_error(r, 401)
    recs, _, _ = neo.execute_query("MATCH (u:User {id: $id}) RETURN count(u) AS n", id=u.id)
    assert recs[0]["n"] == 0
