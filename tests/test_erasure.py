"""Account deletion erases the account's messages everywhere, and conversations keep only
their newest messages (docs/inbox.md, "Retention and erasure")."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import redis as redis_sync

from core.config import Settings
from core.errors import Conflict, NotFound
from redislayer import rkeys
from redislayer.inbox import Inbox
from tests import redisstack
from tests.factories import U, assert_error, graph_users
from tests.test_inbox import key, send


async def open_to_everyone(client: httpx.AsyncClient, *users: U) -> None:
    for u in users:
        r = await client.patch(
            "/v1/users/me", json={"who_can_message": "everyone"}, headers=u.headers
        )
        assert r.status_code == 200, r.text


def keys_holding(settings: Settings, needle: bytes) -> list[bytes]:
    """Keys whose serialized value (DUMP: a stream's nodes as stored, entries flagged
    deleted by XDEL included) contains `needle`, on the server or cluster the app uses."""
    raw: Any = (
        redis_sync.RedisCluster.from_url(settings.redis_cluster_seed_url)
        if settings.redis_cluster
        else redis_sync.Redis.from_url(settings.redis_url)
    )
    try:
        # SCAN: on a cluster every primary (a keyless KEYS would ask one node).
        found = list(raw.scan_iter(count=1000))
        return [k for k in found if needle in (raw.dump(k) or b"")]
    finally:
        raw.close()


def user_keys(rds: Any, user: str) -> list[str]:
    return sorted(k for k in redisstack.keys(rds, f"sg:{{u:{user}}}:*") if ":rate:" not in k)


def events_about(rds: Any, owner: str, user: str) -> list[dict[str, Any]]:
    out = []
    for _, fields in rds.xrange(rkeys.user_events(owner)):
        event = json.loads(fields["data"])
        message = event.get("message") or {}
        if user in (event.get("from"), event.get("by"), message.get("from_id")):
            out.append(event)
    return out


async def texts(client: httpx.AsyncClient, me: U, other: U) -> list[str]:
    r = await client.get(f"/v1/conversations/{other.id}/messages", headers=me.headers)
    assert r.status_code == 200, r.text
    return [m["text"] for m in r.json()["items"]]


async def test_deleting_an_account_erases_its_messages_everywhere(
    client: httpx.AsyncClient, neo: Any, settings: Settings, rds: Any
) -> None:
    d, o1, o2 = graph_users(neo, settings, 3)
    await open_to_everyone(client, d, o1, o2)
    for i in range(3):
        assert (await send(client, d, o1, f"secret-of-d to o1 #{i}")).status_code == 201
    for i in range(2):
        assert (await send(client, o1, d, f"o1 writes #{i}")).status_code == 201
    for i in range(2):
        assert (await send(client, d, o2, f"secret-of-d to o2 #{i}")).status_code == 201
    r = await client.post("/v1/friend-requests", json={"user_id": o1.id}, headers=d.headers)
    assert r.status_code == 201, r.text
    assert len(events_about(rds, o1.id, d.id)) == 4  # 3 messages, 1 friend request
    assert keys_holding(settings, b"secret-of-d")  # the probe sees them before

    assert (await client.delete("/v1/users/me", headers=d.headers)).status_code == 204

    # Not a byte of d's messages is left in Redis: not in the streams' nodes either.
    assert keys_holding(settings, b"secret-of-d") == []
    # o1 keeps its own messages, listed, with nothing unread (d's ids are gone too).
    assert await texts(client, o1, d) == ["o1 writes #1", "o1 writes #0"]
    convs = (await client.get("/v1/conversations", headers=o1.headers)).json()["items"]
    assert [(c["with_user_id"], c["unread"], c["last_message"]["text"]) for c in convs] == [
        (d.id, 0, "o1 writes #1")
    ]
    assert (await client.get("/v1/messages/unread", headers=o1.headers)).json() == {"total": 0}
    assert events_about(rds, o1.id, d.id) == []
    # o2 never wrote: the conversation is gone entirely, from o2's list too.
    gone = rkeys.conversation_id(d.id, o2.id)
    assert (await client.get("/v1/conversations", headers=o2.headers)).json()["items"] == []
    assert [k for k in redisstack.keys(rds, "*") if gone in k] == [rkeys.conv_erased(gone)]
    # d's own keys and idempotency records: only the erasure fence is left (it expires).
    assert user_keys(rds, d.id) == [rkeys.user_erased(d.id)]
    assert 0 < rds.ttl(rkeys.user_erased(d.id)) <= 3600
    assert redisstack.keys(rds, f"*:idem:{d.id}:*") == []

    # Once o1 goes too, nothing of their conversation is left but its fence.
    shared = rkeys.conversation_id(d.id, o1.id)
    assert (await client.delete("/v1/users/me", headers=o1.headers)).status_code == 204
    assert [k for k in redisstack.keys(rds, "*") if shared in k] == [rkeys.conv_erased(shared)]
    assert keys_holding(settings, b"o1 writes") == []


async def test_erasure_fences_sends_in_flight_and_can_be_repeated(
    app: Any, client: httpx.AsyncClient, neo: Any, settings: Settings, rds: Any
) -> None:
    """Sends that passed their permission check before the deletion reach the inbox after
    the erasure: they must not bring anything of the erased user back."""
    d, o, p = graph_users(neo, settings, 3)
    await open_to_everyone(client, d, o, p)
    assert (await send(client, d, o, "hello")).status_code == 201
    inbox: Inbox = app.state.inbox
    assert await inbox.erase_user(d.id) == {
        "conversations": 1,
        "messages": 1,
        "conversations_removed": 1,
    }
    with pytest.raises(NotFound):
        await inbox.send(d.id, o.id, "late, from the erased user", key())
    with pytest.raises(NotFound):
        await inbox.send(o.id, d.id, "late, to the erased user", key())
    # A conversation the erased user never had: the message is the sender's own; nothing
    # reaches the erased user's keys.
    await inbox.send(p.id, d.id, "to nobody", key())
    assert user_keys(rds, d.id) == [rkeys.user_erased(d.id)]
    assert keys_holding(settings, b"late") == []
    # Idempotent: a second run (a retried deletion) finds nothing to do.
    assert await inbox.erase_user(d.id) == {
        "conversations": 0,
        "messages": 0,
        "conversations_removed": 0,
    }
    assert (await client.delete("/v1/users/me", headers=d.headers)).status_code == 204
    assert_error(await client.get("/v1/users/me", headers=d.headers), 401)


async def test_a_conversation_keeps_its_newest_messages(
    app: Any,
    client: httpx.AsyncClient,
    neo: Any,
    settings: Settings,
    rds: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Through the state's dict: monkeypatch.setattr on a State would delete it on undo.
    monkeypatch.setitem(
        app.state._state, "settings", settings.model_copy(update={"messages_per_conversation": 5})
    )
    a, b = graph_users(neo, settings, 2)
    await open_to_everyone(client, a, b)
    keys = [key() for _ in range(8)]
    ids = []
    for i, k in enumerate(keys):
        r = await send(client, a, b, f"m{i}", k)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    conv = rkeys.conversation_id(a.id, b.id)
    assert rds.xlen(rkeys.conv_stream(conv)) == 5
    assert await texts(client, b, a) == [f"m{i}" for i in range(7, 2, -1)]
    # Unread counts follow: trimmed messages are not unread any more.
    assert (await client.get("/v1/messages/unread", headers=b.headers)).json() == {"total": 5}
    assert rds.zcard(rkeys.user_incoming(b.id, conv)) == 5
    # A retry of a trimmed message's send does not store it again.
    assert_error(await send(client, a, b, "m0", keys[0]), 409)
    replay = await send(client, a, b, "m7", keys[7])
    assert replay.status_code == 200 and replay.json()["id"] == ids[7]
    inbox: Inbox = app.state.inbox
    with pytest.raises(Conflict):
        await inbox.send(a.id, b.id, "m1", keys[1], keep=5)
