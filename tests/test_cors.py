"""CORS from CORS_ORIGINS (api/cors.py): browsers on a listed origin get their preflights
answered and can read responses (errors too, 413 included); other origins get no
`Access-Control-Allow-Origin`; with no origin set the API stays same-origin only."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from api.main import create_app
from core.config import Settings

ALLOWED = "https://app.example.com"
REFUSED = "https://evil.example.net"


def preflight(origin: str, method: str = "POST") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
    }


@pytest.fixture
async def cors_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"cors_origins": [ALLOWED]}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


def listed(value: str | None) -> set[str]:
    return {v.strip().lower() for v in (value or "").split(",") if v.strip()}


async def test_a_preflight_from_an_allowed_origin_is_answered(
    cors_client: httpx.AsyncClient,
) -> None:
    r = await cors_client.options("/v1/messages", headers=preflight(ALLOWED))
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == ALLOWED
    assert r.headers["access-control-allow-credentials"] == "true"
    assert {"post", "get", "delete", "patch"} <= listed(r.headers["access-control-allow-methods"])
    assert {"authorization", "content-type", "idempotency-key"} <= listed(
        r.headers["access-control-allow-headers"]
    )
    assert int(r.headers["access-control-max-age"]) > 0
    # The outer middleware still run: request id and security headers on the preflight.
    assert r.headers["x-request-id"] and r.headers["x-content-type-options"] == "nosniff"


async def test_a_refused_origin_gets_no_allow_origin(cors_client: httpx.AsyncClient) -> None:
    r = await cors_client.options("/v1/messages", headers=preflight(REFUSED))
    assert "access-control-allow-origin" not in r.headers
    assert r.status_code >= 400
    r = await cors_client.get("/v1/users/me", headers={"Origin": REFUSED})
    assert r.status_code == 401 and "access-control-allow-origin" not in r.headers


async def test_responses_to_an_allowed_origin_are_readable_errors_included(
    cors_client: httpx.AsyncClient, settings: Settings
) -> None:
    r = await cors_client.get("/v1/users/me", headers={"Origin": ALLOWED})
    assert r.status_code == 401
    assert r.headers["access-control-allow-origin"] == ALLOWED
    assert r.headers["access-control-allow-credentials"] == "true"
    assert {"x-request-id", "retry-after", "idempotent-replayed"} <= listed(
        r.headers["access-control-expose-headers"]
    )
    # The body-size limit answers before the app: CORS sits outside it.
    big = json.dumps({"text": "x" * settings.max_body_bytes})
    r = await cors_client.post(
        "/v1/posts", content=big, headers={"Origin": ALLOWED, "content-type": "application/json"}
    )
    assert r.status_code == 413 and r.headers["access-control-allow-origin"] == ALLOWED


async def test_without_origins_there_is_no_cors(client: httpx.AsyncClient, app: Any) -> None:
    assert app.state.settings.cors_origins == []
    r = await client.options("/v1/messages", headers=preflight(ALLOWED))
    assert r.status_code == 405 and "access-control-allow-origin" not in r.headers


@pytest.mark.parametrize(
    "origin", ["*", "https://app.example.com/", "app.example.com", "https://*.example.com"]
)
def test_origins_must_be_exact(origin: str) -> None:
    with pytest.raises(ValidationError, match="CORS_ORIGINS"):
        Settings(CORS_ORIGINS=[origin])
    Settings(CORS_ORIGINS=[ALLOWED, "http://localhost:5173"])
