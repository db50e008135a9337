"""Logs as an operator sees them: `socialgraph serve` writes one JSON object per line, one
request line per request (request id, route template, status, duration, user id), the
request id on WebSocket and error lines, and no token or secret anywhere
(core/logconfig.py, api/observability.py, docs/observability.md)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets

from api import security
from api.main import create_app
from core.config import Settings
from core.logconfig import JsonFormatter, redact
from tests.apiproc import ApiProcess
from tests.factories import graph_users
from tests.waiting import wait_until


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line of the server's output, each one a JSON object (fails on any other)."""
    out = []
    for line in text.splitlines():
        if line.strip():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                pytest.fail(f"not a JSON log line: {line!r}")
            assert isinstance(entry, dict), line
            out.append(entry)
    return out


def the_line(lines: list[dict[str, Any]], request_id: str, logger: str) -> dict[str, Any]:
    found = [e for e in lines if e.get("request_id") == request_id and e["logger"] == logger]
    assert len(found) == 1, (request_id, logger, found)
    return found[0]


async def test_serve_logs_each_request_as_json_with_its_id_and_no_token(
    neo: Any, settings: Settings
) -> None:
    (u,) = graph_users(neo, settings, 1, prefix="lg")
    token = u.headers["Authorization"].removeprefix("Bearer ")
    stranger, _ = security.issue(settings, "no-such-user", 0, "access")  # a valid JWT: 401
    secrets = [token, stranger, settings.jwt_secret]
    with ApiProcess(settings, cli=True, log_level="info") as api:
        async with httpx.AsyncClient(base_url=api.url) as c:
            ok = await c.get("/v1/users/me", headers=u.headers)
            refused = await c.get("/v1/users/me", headers={"Authorization": f"Bearer {stranger}"})
            # A token where it does not belong (the query string) is not logged either.
            missing = await c.get(
                "/v1/users/lg-none", params={"token": stranger}, headers=u.headers
            )
        assert (ok.status_code, refused.status_code, missing.status_code) == (200, 401, 404)
        async with websockets.connect(f"{api.ws_url}/v1/ws?token={token}") as ws:
            assert ws.response is not None
            ws_id = ws.response.headers.get("x-request-id")
            await ws.send("ping")
            assert json.loads(await ws.recv()) == {"type": "pong"}
        # The socket's line is written when the server has seen it close.
        socket_logged = await wait_until(lambda: '"close_code"' in api.log_text(), timeout=10)
    text = api.log_text()
    for secret in secrets:
        assert secret not in text
    lines = json_lines(text)
    assert socket_logged and ws_id is not None

    line = the_line(lines, ok.headers["x-request-id"], "socialgraph.access")
    assert line["route"] == "/v1/users/me" and line["path"] == "/v1/users/me"
    assert (line["method"], line["status"], line["user_id"]) == ("GET", 200, u.id)
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] > 0
    assert line["level"] == "info" and line["ts"].endswith("Z")

    line = the_line(lines, refused.headers["x-request-id"], "socialgraph.access")
    assert (line["route"], line["status"], line["user_id"]) == ("/v1/users/me", 401, None)

    line = the_line(lines, missing.headers["x-request-id"], "socialgraph.access")
    assert (line["route"], line["status"], line["user_id"]) == ("/v1/users/{user_id}", 404, u.id)
    assert "?" not in line["path"]

    line = the_line(lines, ws_id, "socialgraph.access")
    assert (line["route"], line["status"], line["user_id"]) == ("/v1/ws", 101, u.id)
    assert line["close_code"] == 1000 and line["duration_ms"] > 0
    # uvicorn's own lines about the socket carry the id too; its query string is redacted.
    (handshake,) = [e for e in lines if "[accepted]" in e["msg"]]
    assert handshake["request_id"] == ws_id and "/v1/ws?token=[redacted]" in handshake["msg"]
    assert handshake["logger"] == "uvicorn.error" and handshake["user_id"] == u.id


class Lines(logging.Handler):
    """The lines our formatter writes, kept in memory."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def captured() -> Iterator[Lines]:
    handler = Lines()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def test_an_unhandled_error_is_logged_with_the_request_id(captured: Lines) -> None:
    app = create_app(Settings(_env_file=None))
    jwt_like = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"

    async def boom() -> None:
        raise RuntimeError(f"failed with Authorization: Bearer {jwt_like}")

    app.add_api_route("/boom", boom)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.get("/boom", headers={"X-Request-ID": "boom-request-1"})
    assert r.status_code == 500
    errors = [e for e in captured.lines if e["level"] == "error"]
    assert errors, captured.lines
    for e in errors:
        assert e["request_id"] == "boom-request-1", e
        assert jwt_like not in json.dumps(e)
    assert any("RuntimeError" in e.get("exc", "") for e in errors), errors
    access = [e for e in captured.lines if e["logger"] == "socialgraph.access"]
    assert [(e["request_id"], e["status"]) for e in access] == [("boom-request-1", 500)]


def test_redaction() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_bmF0dXJl"
    cases = {
        f'"WebSocket /v1/ws?token={jwt}&since=1-0" [accepted]': (
            '"WebSocket /v1/ws?token=[redacted]&since=1-0" [accepted]'
        ),
        "/v1/ws?token=not-a-jwt": "/v1/ws?token=[redacted]",
        "Authorization: Bearer opaque.value": "Authorization: Bearer [redacted]",
        "authorization: basic dXNlcjpwdw==": "authorization: basic [redacted]",
        '{"password": "hunter2", "refresh_token": "abc"}': (
            '{"password": "[redacted]", "refresh_token": "[redacted]"}'
        ),
        "username=al&password=pw&grant_type=password": (
            "username=al&password=[redacted]&grant_type=password"
        ),
        f"bare {jwt} in text": "bare [redacted] in text",
        "token_version=3 handle=tokenizer": "token_version=3 handle=tokenizer",
    }
    for raw, expected in cases.items():
        assert redact(raw) == expected, raw
