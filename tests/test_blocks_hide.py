"""A block hides what already exists: the conversation leaves the blocker's list, history
and unread counts, the blocked user's queued events never reach the blocker's sockets, and
an unblock brings the conversation back as it was (docs/inbox.md, "Blocks")."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets

from core.config import Settings
from redislayer import rkeys
from redislayer.inbox import Inbox
from tests.apiproc import ApiProcess
from tests.factories import U, assert_error, graph_users


async def open_to_everyone(client: httpx.AsyncClient, *users: U) -> None:
    for u in users:
        r = await client.patch(
            "/v1/users/me", json={"who_can_message": "everyone"}, headers=u.headers
        )
        assert r.status_code == 200, r.text


async def send(client: httpx.AsyncClient, a: U, b: U, text: str) -> dict[str, Any]:
    r = await client.post(
        "/v1/messages",
        json={"to": b.id, "text": text},
        headers={**a.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def listed(client: httpx.AsyncClient, me: U) -> list[tuple[str, int]]:
    r = await client.get("/v1/conversations", headers=me.headers)
    assert r.status_code == 200, r.text
    return [(c["with_user_id"], c["unread"]) for c in r.json()["items"]]


async def history(client: httpx.AsyncClient, me: U, other: U, **params: str) -> dict[str, Any]:
    r = await client.get(
        f"/v1/conversations/{other.id}/messages", params=params, headers=me.headers
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def unread(client: httpx.AsyncClient, me: U) -> int:
    return int((await client.get("/v1/messages/unread", headers=me.headers)).json()["total"])


def events_from(rds: Any, owner: str, sender: str) -> list[str]:
    out = []
    for _, fields in rds.xrange(rkeys.user_events(owner)):
        message = json.loads(fields["data"]).get("message") or {}
        if message.get("from_id") == sender:
            out.append(message["text"])
    return out


async def test_a_block_hides_the_conversation_from_the_blocker_until_unblocked(
    app: Any, client: httpx.AsyncClient, neo: Any, settings: Settings, rds: Any
) -> None:
    a, b, stranger = graph_users(neo, settings, 3)
    await open_to_everyone(client, a, b)
    sent = [await send(client, b, a, f"b says {i}") for i in range(3)]
    mine = await send(client, a, b, "a answers")
    assert await listed(client, a) == [(b.id, 3)]
    assert events_from(rds, a.id, b.id) == ["b says 0", "b says 1", "b says 2"]

    assert (
        await client.post("/v1/blocks", json={"user_id": b.id}, headers=a.headers)
    ).status_code == 204

    # Sending is refused both ways at once (the permission check; its cache was bumped).
    r = await client.post(
        "/v1/messages",
        json={"to": a.id, "text": "still there?"},
        headers={**b.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert_error(r, 404)
    r = await client.post(
        "/v1/messages",
        json={"to": b.id, "text": "bye"},
        headers={**a.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert_error(r, 409)
    # For the blocker the conversation reads like one that never existed.
    assert await listed(client, a) == []
    assert await unread(client, a) == 0
    for params in ({}, {"before": mine["id"]}, {"after": sent[0]["id"]}):
        assert await history(client, a, b, **params) == await history(client, a, stranger, **params)
    r = await client.post(
        f"/v1/conversations/{b.id}/read", json={"up_to": sent[2]["id"]}, headers=a.headers
    )
    assert_error(r, 400)
    # The blocked user's queued events are gone from the blocker's stream.
    assert events_from(rds, a.id, b.id) == []
    # The blocked side keeps its copy (to it, the blocker just looks missing).
    assert await listed(client, b) == [(a.id, 1)]
    assert len((await history(client, b, a))["items"]) == 4
    # A send that passed its permission check before the block commits lands after it:
    # stored, but no event and nothing shown to the blocker.
    inbox: Inbox = app.state.inbox
    late, _ = await inbox.send(b.id, a.id, "in flight", uuid.uuid4().hex)
    assert events_from(rds, a.id, b.id) == []
    assert await listed(client, a) == [] and await unread(client, a) == 0

    # Unblocking brings the conversation back as it was, the message in flight included.
    assert (await client.delete(f"/v1/blocks/{b.id}", headers=a.headers)).status_code == 204
    assert await listed(client, a) == [(b.id, 4)]
    assert await unread(client, a) == 4
    texts = [m["text"] for m in (await history(client, a, b))["items"]]
    assert texts == ["in flight", "a answers", "b says 2", "b says 1", "b says 0"]
    assert late.id == (await history(client, a, b))["items"][0]["id"]
    assert_error(await client.delete(f"/v1/blocks/{b.id}", headers=a.headers), 404)


@pytest.fixture(scope="module")
def api(settings: Settings) -> Iterator[ApiProcess]:
    """A real server for sockets, with the production heartbeat: only pub/sub wakes them."""
    server = ApiProcess(settings)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def next_message(ws: Any, timeout: float = 5.0) -> dict[str, Any]:
    """The next `message` event (other kinds, e.g. `resync`, are skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no message event within {timeout}s"
        event = json.loads(await asyncio.wait_for(ws.recv(), remaining))
        if event["type"] == "message":
            return dict(event)


def ws_url(api: ApiProcess, u: U, since: str | None = None) -> str:
    token = u.headers["Authorization"].removeprefix("Bearer ")
    return f"{api.ws_url}/v1/ws?token={token}" + (f"&since={since}" if since else "")


async def test_a_block_stops_the_blocked_users_events_at_once(
    api: ApiProcess, app: Any, neo: Any, settings: Settings
) -> None:
    a, b, c = graph_users(neo, settings, 3)
    async with httpx.AsyncClient(base_url=api.url) as rest:
        await open_to_everyone(rest, a, b, c)
        async with websockets.connect(ws_url(api, a)) as ws:
            await send(rest, c, a, "c first")
            last_seen = (await next_message(ws))["event_id"]
        # While a is away, b writes: the events wait in a's stream for a's next socket.
        for i in range(3):
            await send(rest, b, a, f"queued {i}")
        r = await rest.post("/v1/blocks", json={"user_id": b.id}, headers=a.headers)
        assert r.status_code == 204
        async with websockets.connect(ws_url(api, a, since=last_seen)) as ws:
            await send(rest, c, a, "c again")
            got = await next_message(ws)
            assert got["message"]["text"] == "c again", got  # not b's queued messages
            # A send of b's in flight across the block (it passed the permission check
            # before): no event reaches a's socket.
            inbox: Inbox = app.state.inbox
            await inbox.send(b.id, a.id, "in flight", uuid.uuid4().hex)
            await send(rest, c, a, "c last")
            assert (await next_message(ws))["message"]["text"] == "c last"
