"""Security headers on every response, and /metrics behind METRICS_TOKEN.

- every HTTP response: `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`,
  `X-Frame-Options: DENY` and a Content-Security-Policy: `default-src 'none'` for the API,
  a policy that lets the documentation pages (/docs, /redoc) load their scripts from the
  app itself and no other host;
- `Cache-Control: no-store` on authenticated requests and everything under /v1 (tokens,
  private profiles); HSTS only when the request came over https;
- /metrics: with METRICS_TOKEN set, only `Authorization: Bearer <token>` gets it; production
  refuses to start without one (development and test keep it open, for tests/apiproc.py).
"""

from __future__ import annotations

import json
import re
from base64 import b64encode
from collections.abc import AsyncIterator
from hashlib import sha256
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from api.main import create_app
from core.config import Settings
from tests.factories import graph_users

COMMON = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def assert_common(r: httpx.Response) -> None:
    for name, value in COMMON.items():
        assert r.headers.get(name) == value, (r.request.url, name, r.headers)
    assert "content-security-policy" in r.headers, r.request.url


def directives(csp: str) -> dict[str, list[str]]:
    out = {}
    for part in csp.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


async def test_api_responses_carry_the_headers(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    (u,) = graph_users(neo, settings, 1, prefix="sh")
    big = json.dumps({"text": "x" * settings.max_body_bytes})
    responses = {
        "authenticated 200": await client.get("/v1/users/me", headers=u.headers),
        "401": await client.get("/v1/users/me"),
        "422": await client.get("/v1/users", params={"prefix": "!"}, headers=u.headers),
        "413": await client.post(
            "/v1/posts", content=big, headers={**u.headers, "content-type": "application/json"}
        ),
        "404 unknown route": await client.get("/nowhere"),
        "login 401": await client.post("/v1/auth/token", data={"username": "x", "password": "y"}),
        "healthz": await client.get("/healthz"),
        "openapi": await client.get("/openapi.json"),
    }
    assert responses["authenticated 200"].status_code == 200
    assert responses["413"].status_code == 413
    for name, r in responses.items():
        assert_common(r)
        assert r.headers["content-security-policy"] == API_CSP, name
        assert "strict-transport-security" not in r.headers, name  # plain http
    for name in ("authenticated 200", "401", "422", "413", "login 401"):
        assert responses[name].headers.get("cache-control") == "no-store", name
    # A public, unauthenticated response outside /v1 may be cached.
    assert "cache-control" not in responses["healthz"].headers


async def test_authenticated_requests_are_never_stored(client: httpx.AsyncClient) -> None:
    """Any request that carries credentials, wherever it goes."""
    r = await client.get("/healthz", headers={"Authorization": "Bearer whatever"})
    assert r.headers.get("cache-control") == "no-store"


@pytest.fixture
async def https_client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
        yield c


async def test_hsts_only_over_https(https_client: httpx.AsyncClient) -> None:
    r = await https_client.get("/healthz")
    assert_common(r)
    assert r.headers["strict-transport-security"] == "max-age=63072000; includeSubDomains"


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/docs/oauth2-redirect"])
async def test_documentation_pages_get_a_policy_that_lets_them_load(
    client: httpx.AsyncClient, path: str
) -> None:
    """The pages load their scripts, styles and icon from the app itself (api/docs.py) and
    run one inline script: their policy allows this origin, that script by its hash
    (checked against the page itself) and no other host at all."""
    r = await client.get(path)
    assert r.status_code == 200
    assert_common(r)
    csp = directives(r.headers["content-security-policy"])
    assert csp["default-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"]
    for name, sources in csp.items():
        for source in sources:
            assert source.startswith("'") or source in ("data:", "blob:"), (name, source)
    html = r.text
    for src in re.findall(r'<script[^>]+src="([^"]+)"', html):
        assert origin(src) == "'self'", src
    inline = re.findall(r"<script>(.*?)</script>", html, re.S)
    hashes = {"'sha256-" + b64encode(sha256(s.encode()).digest()).decode() + "'" for s in inline}
    assert set(csp["script-src"]) == {"'self'", *hashes}  # no 'unsafe-inline' for scripts
    for tag in re.findall(r"<link[^>]+>", html):
        rel, href = re.search(r'rel="([^"]+)"', tag), re.search(r'href="([^"]+)"', tag)
        assert rel and href, tag
        allowed = csp["style-src"] if rel[1] == "stylesheet" else csp["img-src"]  # icons
        assert origin(href[1]) == "'self'" and "'self'" in allowed, tag
    if "<style>" in html:
        assert "'unsafe-inline'" in csp["style-src"]
    assert csp["connect-src"] == ["'self'"]  # "Try it out", the token, the OpenAPI document


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else "'self'"


# ------------------------------------------------------------------ /metrics


TOKEN = "m" * 40


@pytest.fixture
async def guarded(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An app whose /metrics needs TOKEN (the route touches no server: no lifespan)."""
    app = create_app(settings.model_copy(update={"metrics_token": TOKEN}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def test_metrics_need_the_token_when_one_is_set(guarded: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        r = await guarded.get("/metrics", headers=headers)
        assert r.status_code == 401, (headers, r.text[:200])
        assert r.headers["www-authenticate"] == "Bearer"
        assert "sg_" not in r.text
    r = await guarded.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200 and "sg_http_request_seconds" in r.text
    assert r.headers.get("cache-control") == "no-store"


async def test_metrics_stay_open_in_test_without_a_token(client: httpx.AsyncClient) -> None:
    """tests/apiproc.py and the benchmark read /metrics with no token."""
    r = await client.get("/metrics")
    assert r.status_code == 200 and "sg_http_request_seconds" in r.text
    assert_common(r)


def test_production_refuses_to_start_without_a_metrics_token() -> None:
    prod: dict[str, Any] = {
        "SOCIALGRAPH_ENV": "production",
        "JWT_SECRET": "j" * 48,
        "NEO4J_PASSWORD": "a real password",
        # Other production secrets, if this version has them (unknown names are ignored).
        "PASSWORD_PEPPERS": {"k1": "p" * 48},
        "PASSWORD_PEPPER_ID": "k1",
    }
    with pytest.raises(ValueError, match="METRICS_TOKEN"):
        Settings(**prod)
    with pytest.raises(ValueError, match="METRICS_TOKEN"):
        Settings(**prod, METRICS_TOKEN="short")
    assert Settings(**prod, METRICS_TOKEN=TOKEN).metrics_token == TOKEN
