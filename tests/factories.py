"""Test factories: users straight into the graph (fast) or through the API (real flow)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from api import security
from core.config import Settings
from seeds import bulk


@dataclass
class U:
    id: str
    handle: str
    headers: dict[str, str]


def token_headers(settings: Settings, user_id: str, version: int = 0) -> dict[str, str]:
    token, _ = security.issue(settings, user_id, version, "access")
    return {"Authorization": f"Bearer {token}"}


def graph_users(neo: Any, settings: Settings, n: int, prefix: str = "p") -> list[U]:
    """n users written by the bulk loader, each with a valid access token (no password)."""
    rows = [{"id": f"{prefix}{i:03d}", "handle": f"{prefix}user{i:03d}"} for i in range(n)]
    bulk.users(neo, rows)
    return [U(r["id"], r["handle"], token_headers(settings, r["id"])) for r in rows]


async def api_user(
    client: httpx.AsyncClient, handle: str, password: str = "correct horse battery"
) -> U:
    r = await client.post("/v1/users", json={"handle": handle, "password": password})
    assert r.status_code == 201, r.text
    uid = r.json()["id"]
    t = await client.post("/v1/auth/token", data={"username": handle, "password": password})
    assert t.status_code == 200, t.text
    return U(uid, handle, {"Authorization": f"Bearer {t.json()['access_token']}"})


def assert_error(r: httpx.Response, status: int, code: str | None = None) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    if code:
        assert body["error"]["code"] == code, body
