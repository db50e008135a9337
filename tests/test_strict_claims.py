"""Numeric JWT claims must be integers (NumericDate as the API issues it).

pyjwt converts `exp`, `iat` and `nbf` with int()/float(), so a string such as "1900000000"
passed. A token is signed with the service's secret, so only the service (or a holder of
the secret) can mint one; the check keeps every accepted token in the one shape `issue`
produces, and it is the decoder's contract that tests/test_auth.py does not cover.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
import pytest

from api import security
from core.config import Settings
from tests.factories import assert_error, graph_users


def forge(settings: Settings, sub: str, **over: Any) -> dict[str, str]:
    now = int(time.time())
    payload: dict[str, Any] = {
        "sub": sub,
        "ver": 0,
        "typ": "access",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
    }
    payload.update(over)
    token = jwt.encode(payload, settings.jwt_secret, algorithm="HS256")
    return {"Authorization": f"Bearer {token}"}


NOW = int(time.time())


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": str(NOW + 600)},
        {"iat": str(NOW)},
        {"nbf": str(NOW)},
        {"exp": NOW + 600.5},
        {"iat": float(NOW)},
        {"exp": True},
        {"exp": [NOW + 600]},
    ],
    ids=["exp-str", "iat-str", "nbf-str", "exp-float", "iat-float", "exp-bool", "exp-list"],
)
async def test_non_integer_time_claims_are_refused(
    client: httpx.AsyncClient, neo: Any, settings: Settings, claims: dict[str, Any]
) -> None:
    (u,) = graph_users(neo, settings, 1, prefix="sc")
    assert (await client.get("/v1/users/me", headers=forge(settings, u.id))).status_code == 200
    r = await client.get("/v1/users/me", headers=forge(settings, u.id, **claims))
    assert_error(r, 401, "unauthorized")


def test_decode_refuses_a_numeric_string_exp() -> None:
    settings = Settings()
    token = forge(settings, "x", exp=str(int(time.time()) + 600))["Authorization"][7:]
    with pytest.raises(security.TokenError):
        security.decode(settings, token, "access")
    # Refresh tokens go through the same decoder.
    token = forge(settings, "x", typ="refresh", nbf=str(int(time.time())))["Authorization"][7:]
    with pytest.raises(security.TokenError):
        security.decode(settings, token, "refresh")
