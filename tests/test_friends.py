"""Friend requests, undirected friendships stored once, blocks — through the API, against the
real Neo4j, including 50 concurrent requests/accepts on one pair."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import httpx

from core.config import Settings
from tests.factories import U, assert_error, graph_users


def friendship_count(neo: Any, a: str, b: str) -> int:
    recs, _, _ = neo.execute_query(
        "MATCH (:User {id: $a})-[f:FRIENDS]-(:User {id: $b}) RETURN count(f) AS n", a=a, b=b
    )
    return int(recs[0]["n"])


def graph_fingerprint(neo: Any) -> list[Any]:
    recs, _, _ = neo.execute_query(
        "MATCH (a)-[r]->(b) RETURN a.id AS a, type(r) AS t, b.id AS b, r.status AS s "
        "ORDER BY a, t, b"
    )
    return [r.data() for r in recs]


async def befriend(client: httpx.AsyncClient, a: U, b: U) -> None:
    r = await client.post("/v1/friend-requests", json={"user_id": b.id}, headers=a.headers)
    assert r.status_code == 201 and r.json()["status"] == "pending", r.text
    r = await client.post(f"/v1/friend-requests/{a.id}/accept", headers=b.headers)
    assert r.status_code == 204, r.text


async def test_request_accept_makes_one_undirected_friendship(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    a, b = graph_users(neo, settings, 2)
    r = await client.post("/v1/friend-requests", json={"user_id": b.id}, headers=a.headers)
    assert r.status_code == 201
    inc = (await client.get("/v1/friend-requests/incoming", headers=b.headers)).json()
    assert [i["user"]["id"] for i in inc["items"]] == [a.id]
    out = (await client.get("/v1/friend-requests/outgoing", headers=a.headers)).json()
    assert [i["user"]["id"] for i in out["items"]] == [b.id]
    assert (
        await client.post(f"/v1/friend-requests/{a.id}/accept", headers=b.headers)
    ).status_code == 204
    assert friendship_count(neo, a.id, b.id) == 1
    recs, _, _ = neo.execute_query("MATCH (x)-[f:FRIENDS]->(y) RETURN x.id AS x, f.pair AS p")
    assert (
        recs[0]["x"] == min(a.id, b.id) and recs[0]["p"] == f"{min(a.id, b.id)}|{max(a.id, b.id)}"
    )
    for who, other in ((a, b), (b, a)):
        page = (await client.get(f"/v1/users/{who.id}/friends", headers=other.headers)).json()
        assert [i["user"]["id"] for i in page["items"]] == [other.id]
    assert (await client.get("/v1/friend-requests/incoming", headers=b.headers)).json()[
        "items"
    ] == []


async def test_reverse_request_accepts(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    a, b = graph_users(neo, settings, 2)
    await client.post("/v1/friend-requests", json={"user_id": b.id}, headers=a.headers)
    r = await client.post("/v1/friend-requests", json={"user_id": a.id}, headers=b.headers)
    assert r.status_code == 201 and r.json()["status"] == "accepted"
    assert friendship_count(neo, a.id, b.id) == 1


async def test_bad_requests_change_nothing(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    a, b, c = graph_users(neo, settings, 3)
    await client.post("/v1/friend-requests", json={"user_id": b.id}, headers=a.headers)
    before = graph_fingerprint(neo)
    cases = [
        (a, {"user_id": a.id}, 400),  # self
        (a, {"user_id": b.id}, 409),  # duplicate
        (a, {"user_id": "nobody"}, 404),  # unknown
        (a, {"user_id": "bad id!"}, 422),  # malformed
        (a, {"user_id": b.id, "x": 1}, 422),  # unknown field
    ]
    for who, body, status in cases:
        r = await client.post("/v1/friend-requests", json=body, headers=who.headers)
        assert_error(r, status)
    assert_error(await client.post(f"/v1/friend-requests/{c.id}/accept", headers=a.headers), 404)
    assert_error(await client.delete(f"/v1/friend-requests/{c.id}", headers=a.headers), 404)
    assert_error(await client.post("/v1/blocks", json={"user_id": a.id}, headers=a.headers), 400)
    assert_error(await client.delete(f"/v1/friends/{c.id}", headers=a.headers), 404)
    assert graph_fingerprint(neo) == before


async def test_decline_and_cancel(client: httpx.AsyncClient, neo: Any, settings: Settings) -> None:
    a, b, c = graph_users(neo, settings, 3)
    await client.post("/v1/friend-requests", json={"user_id": b.id}, headers=a.headers)
    await client.post("/v1/friend-requests", json={"user_id": c.id}, headers=a.headers)
    assert (
        await client.post(f"/v1/friend-requests/{a.id}/decline", headers=b.headers)
    ).status_code == 204
    assert (
        await client.delete(f"/v1/friend-requests/{c.id}", headers=a.headers)
    ).status_code == 204
    recs, _, _ = neo.execute_query(
        "MATCH (:User {id: $a})-[r:REQUESTED]->(b) RETURN b.id AS b, r.status AS s ORDER BY b",
        a=a.id,
    )
    assert {r["b"]: r["s"] for r in recs} == {b.id: "declined", c.id: "cancelled"}
    assert friendship_count(neo, a.id, b.id) == 0
    # A declined request can be sent again.
    r = await client.post("/v1/friend-requests", json={"user_id": b.id}, headers=a.headers)
    assert r.status_code == 201


async def test_block_removes_friendship_requests_and_visibility(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    a, b, c = graph_users(neo, settings, 3)
    await befriend(client, a, b)
    await befriend(client, a, c)
    await befriend(client, b, c)
    await client.post("/v1/friend-requests", json={"user_id": a.id}, headers=c.headers)
    assert (
        await client.post("/v1/blocks", json={"user_id": c.id}, headers=a.headers)
    ).status_code == 204
    assert friendship_count(neo, a.id, c.id) == 0
    # Hidden both ways: profile, friends lists, mutual friends.
    assert_error(await client.get(f"/v1/users/{c.id}", headers=a.headers), 404)
    assert_error(await client.get(f"/v1/users/{a.id}", headers=c.headers), 404)
    assert_error(await client.get(f"/v1/users/by-handle/{a.handle}", headers=c.headers), 404)
    mutual = (await client.get(f"/v1/users/{b.id}/mutual-friends", headers=a.headers)).json()
    assert mutual["items"] == []  # c is a mutual friend of a and b, but a blocked c
    friends_of_b = (await client.get(f"/v1/users/{b.id}/friends", headers=a.headers)).json()
    assert [i["user"]["id"] for i in friends_of_b["items"]] == [a.id]
    # Neither can request the other.
    assert_error(
        await client.post("/v1/friend-requests", json={"user_id": c.id}, headers=a.headers), 409
    )
    assert_error(
        await client.post("/v1/friend-requests", json={"user_id": a.id}, headers=c.headers), 404
    )
    blocks = (await client.get("/v1/blocks", headers=a.headers)).json()
    assert [i["user"]["id"] for i in blocks["items"]] == [c.id]
    # Unblock restores visibility, not the friendship.
    assert (await client.delete(f"/v1/blocks/{c.id}", headers=a.headers)).status_code == 204
    assert (await client.get(f"/v1/users/{c.id}", headers=a.headers)).status_code == 200
    assert friendship_count(neo, a.id, c.id) == 0
    assert_error(await client.delete(f"/v1/blocks/{c.id}", headers=a.headers), 404)


async def test_unfriend(client: httpx.AsyncClient, neo: Any, settings: Settings) -> None:
    a, b = graph_users(neo, settings, 2)
    await befriend(client, a, b)
    assert (await client.delete(f"/v1/friends/{a.id}", headers=b.headers)).status_code == 204
    assert friendship_count(neo, a.id, b.id) == 0


async def test_fifty_concurrent_requests_and_accepts_one_friendship(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    a, b = graph_users(neo, settings, 2)
    calls = []
    for i in range(50):
        if i % 3 == 0:
            calls.append(
                client.post("/v1/friend-requests", json={"user_id": b.id}, headers=a.headers)
            )
        elif i % 3 == 1:
            calls.append(
                client.post("/v1/friend-requests", json={"user_id": a.id}, headers=b.headers)
            )
        else:
            calls.append(client.post(f"/v1/friend-requests/{a.id}/accept", headers=b.headers))
    responses = await asyncio.gather(*calls)
    statuses = sorted({r.status_code for r in responses})
    assert set(statuses) <= {201, 204, 404, 409}, [
        r.text for r in responses if r.status_code >= 500
    ]
    assert friendship_count(neo, a.id, b.id) == 1
    recs, _, _ = neo.execute_query("MATCH ()-[f:FRIENDS]-() RETURN count(DISTINCT f) AS n")
    assert recs[0]["n"] == 1


async def test_fifty_concurrent_accepts(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    a, b = graph_users(neo, settings, 2)
    await client.post("/v1/friend-requests", json={"user_id": b.id}, headers=a.headers)
    responses = await asyncio.gather(
        *[client.post(f"/v1/friend-requests/{a.id}/accept", headers=b.headers) for _ in range(50)]
    )
    codes = [r.status_code for r in responses]
    assert codes.count(204) == 1 and codes.count(404) == 49
    assert friendship_count(neo, a.id, b.id) == 1


async def test_friends_pagination_is_stable(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    users = graph_users(neo, settings, 12)
    hub = users[0]
    neo.execute_query(
        "MATCH (h:User {id: $h}), (u:User) WHERE u.id <> $h "
        "MERGE (h)-[:FRIENDS {pair: h.id + '|' + u.id}]->(u)",
        h=hub.id,
    )
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 5}
        if cursor:
            params["cursor"] = cursor
        page = (
            await client.get(f"/v1/users/{hub.id}/friends", params=params, headers=hub.headers)
        ).json()
        seen += [i["user"]["handle"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(u.handle for u in users[1:])
    assert_error(
        await client.get(f"/v1/users/{hub.id}/friends", params={"limit": 101}, headers=hub.headers),
        422,
    )
    assert_error(
        await client.get(
            f"/v1/users/{hub.id}/friends", params={"cursor": "garbage"}, headers=hub.headers
        ),
        400,
    )


async def walk(client: httpx.AsyncClient, url: str, u: U, limit: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        r = await client.get(url, params=params, headers=u.headers)
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if not cursor:
            return items
    raise AssertionError("the walk did not end")


async def test_timed_lists_walk_every_item_once_newest_first(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    """Incoming and outgoing requests and blocks, in pages of 2: each item once, newest
    first (ties by user id), the timestamps Neo4j stored, to the microsecond."""
    hub, *others = graph_users(neo, settings, 8)
    askers, asked, blocked = others[:3], others[3:5], others[5:]
    for u in askers:
        r = await client.post("/v1/friend-requests", json={"user_id": hub.id}, headers=u.headers)
        assert r.status_code == 201, r.text
    for u in asked:
        r = await client.post("/v1/friend-requests", json={"user_id": u.id}, headers=hub.headers)
        assert r.status_code == 201, r.text
    for u in blocked:
        r = await client.post("/v1/blocks", json={"user_id": u.id}, headers=hub.headers)
        assert r.status_code == 204, r.text
    stored_order = {
        "incoming": "MATCH (u:User)-[r:REQUESTED]->(:User {id: $h}) "
        "RETURN u.id AS id, r.created_at AS at ORDER BY at DESC, id ASC",
        "outgoing": "MATCH (:User {id: $h})-[r:REQUESTED]->(u:User) "
        "RETURN u.id AS id, r.created_at AS at ORDER BY at DESC, id ASC",
        "blocks": "MATCH (:User {id: $h})-[r:BLOCKED]->(u:User) "
        "RETURN u.id AS id, r.at AS at ORDER BY at DESC, id ASC",
    }
    for url, users, field, cypher in [
        ("/v1/friend-requests/incoming", askers, "created_at", stored_order["incoming"]),
        ("/v1/friend-requests/outgoing", asked, "created_at", stored_order["outgoing"]),
        ("/v1/blocks", blocked, "at", stored_order["blocks"]),
    ]:
        got = await walk(client, url, hub, 2)
        recs, _, _ = neo.execute_query(cypher, h=hub.id)
        assert [i["user"]["id"] for i in got] == [r["id"] for r in recs], url
        assert len(recs) == len(users)
        for item, rec in zip(got, recs, strict=True):
            stored = rec["at"].to_native()
            assert datetime.fromisoformat(item[field].replace("Z", "+00:00")) == stored, url
