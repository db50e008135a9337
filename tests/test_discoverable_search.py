"""Prefix search (`GET /v1/users?prefix=`) lists discoverable users only.

`discoverable = false` means what it means for suggestions (queries/recommend/*.cypher):
the user opted out of being found, and a missing property counts as true. The exact
lookups (`/v1/users/by-handle/{handle}`, `/v1/users/{id}`) still answer: they need the
whole handle or id, which friends, posts and messages already show (docs/hardening.md).
"""

from __future__ import annotations

from typing import Any

import httpx

from core.config import Settings
from seeds import bulk
from tests.factories import graph_users


async def search(client: httpx.AsyncClient, headers: dict[str, str], prefix: str) -> list[str]:
    """Every handle the search lists for `prefix`, following the cursor to the end."""
    handles: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"prefix": prefix, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        r = await client.get("/v1/users", params=params, headers=headers)
        assert r.status_code == 200, r.text
        handles += [u["handle"] for u in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return handles


async def test_prefix_search_leaves_out_undiscoverable_users(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    viewer, hidden, shown, friend_hidden = graph_users(neo, settings, 4, prefix="ds")
    neo.execute_query(
        "MATCH (u:User) WHERE u.id IN $ids SET u.discoverable = false",
        ids=[hidden.id, friend_hidden.id],
    )
    # A friend who opted out is not listed either: the search finds strangers and friends
    # alike, and the opt-out is about being found by handle.
    bulk.friendships(neo, [{"a": viewer.id, "b": friend_hidden.id}])
    # A user without the property counts as discoverable (as for suggestions).
    neo.execute_query("MATCH (u:User {id: $id}) REMOVE u.discoverable", id=shown.id)

    listed = await search(client, viewer.headers, "dsuser")
    assert listed == [viewer.handle, shown.handle]

    # The exact lookups still answer: they need the whole handle or id.
    r = await client.get(f"/v1/users/by-handle/{hidden.handle}", headers=viewer.headers)
    assert r.status_code == 200 and r.json()["id"] == hidden.id, r.text
    r = await client.get(f"/v1/users/{hidden.id}", headers=viewer.headers)
    assert r.status_code == 200 and r.json()["handle"] == hidden.handle, r.text

    # Opting back in through the API lists the user again.
    r = await client.patch("/v1/users/me", json={"discoverable": True}, headers=hidden.headers)
    assert r.status_code == 200 and r.json()["discoverable"] is True, r.text
    listed = await search(client, viewer.headers, "dsuser")
    assert listed == [viewer.handle, hidden.handle, shown.handle]
