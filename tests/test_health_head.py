"""The health routes answer HEAD like GET without a body, and /readyz reports states,
never an address or exception text, also during an outage (issue 13)."""

from __future__ import annotations

import httpx

from core.config import Settings
from tests import redisstack
from tests.apiproc import ApiProcess


def assert_head_like_get(head: httpx.Response, get: httpx.Response) -> None:
    assert head.status_code == get.status_code
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"] == "application/json"
    assert head.headers["content-length"] == str(len(get.content))


async def test_head_answers_like_get(client: httpx.AsyncClient) -> None:
    for path in ("/healthz", "/readyz"):
        get, head = await client.get(path), await client.head(path)
        assert get.status_code == 200, get.text
        assert_head_like_get(head, get)


def test_head_through_uvicorn(settings: Settings) -> None:
    """A real server sends the GET's Content-Length with no body, and the connection
    stays usable (a body after a HEAD answer would corrupt the next response)."""
    with ApiProcess(settings) as api, httpx.Client(base_url=api.url) as http:
        for path in ("/healthz", "/readyz", "/healthz"):
            head = http.head(path)
            assert_head_like_get(head, http.get(path))


async def test_readyz_during_a_redis_outage_states_only(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    server = redisstack.server(settings)
    server.stop()
    try:
        get = await client.get("/readyz")
        head = await client.head("/readyz")
    finally:
        server.start()
    assert get.status_code == 503
    assert get.json() == {
        "status": "unavailable",
        "neo4j": {"status": "ok", "error": None},
        "redis": {"status": "down", "error": "unreachable"},
    }
    for leak in ("127.0.0.1", str(settings.redis_port), "Error", "connect"):
        assert leak not in get.text, get.text
    assert_head_like_get(head, get)
    assert (await client.get("/readyz")).status_code == 200
