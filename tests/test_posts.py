"""Posts, likes and comments: counters exact under concurrency, owners only."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from core.config import Settings
from tests.factories import assert_error, graph_users


async def new_post(client: httpx.AsyncClient, headers: dict[str, str], text: str = "hi") -> str:
    r = await client.post("/v1/posts", json={"text": text}, headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def post_state(neo: Any, post_id: str) -> dict[str, Any]:
    recs, _, _ = neo.execute_query(
        "MATCH (p:Post {id: $id}) RETURN p.like_count AS likes, p.comment_count AS comments, "
        "COUNT { ()-[:LIKED]->(p) } AS like_edges, "
        "COUNT { (:Comment)-[:ON]->(p) } AS comment_nodes",
        id=post_id,
    )
    return recs[0].data() if recs else {}


async def test_hundred_concurrent_likes_count_exactly(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    users = graph_users(neo, settings, 101)
    author, likers = users[0], users[1:]
    pid = await new_post(client, author.headers)
    rs = await asyncio.gather(
        *[client.put(f"/v1/posts/{pid}/like", headers=u.headers) for u in likers]
    )
    assert all(r.status_code == 200 for r in rs), [r.text for r in rs if r.status_code != 200]
    assert post_state(neo, pid) == {
        "likes": 100,
        "comments": 0,
        "like_edges": 100,
        "comment_nodes": 0,
    }
    # One user liking 20 times at once still counts once.
    rs = await asyncio.gather(
        *[client.put(f"/v1/posts/{pid}/like", headers=likers[0].headers) for _ in range(20)]
    )
    assert all(r.status_code == 200 and not r.json()["changed"] for r in rs)
    assert post_state(neo, pid)["likes"] == 100
    recs, _, _ = neo.execute_query(
        "MATCH (:User {id: $u})-[i:INTERACTS]->(:User {id: $a}) RETURN count(i) AS n, "
        "sum(i.weight) AS w",
        u=likers[0].id,
        a=author.id,
    )
    assert recs[0]["n"] == 1 and recs[0]["w"] == 1


async def test_repeated_likes_by_one_user_count_once(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    a, b = graph_users(neo, settings, 2)
    pid = await new_post(client, a.headers)
    first = (await client.put(f"/v1/posts/{pid}/like", headers=b.headers)).json()
    second = (await client.put(f"/v1/posts/{pid}/like", headers=b.headers)).json()
    assert first["changed"] and not second["changed"] and second["like_count"] == 1
    gone = (await client.delete(f"/v1/posts/{pid}/like", headers=b.headers)).json()
    again = (await client.delete(f"/v1/posts/{pid}/like", headers=b.headers)).json()
    assert gone["changed"] and not again["changed"] and again["like_count"] == 0
    got = (await client.get(f"/v1/posts/{pid}", headers=b.headers)).json()
    assert got["like_count"] == 0 and got["liked_by_me"] is False


async def test_comments_counts_and_affinity(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    a, b = graph_users(neo, settings, 2)
    pid = await new_post(client, a.headers)
    await client.put(f"/v1/posts/{pid}/like", headers=b.headers)
    ids = []
    for i in range(3):
        r = await client.post(
            f"/v1/posts/{pid}/comments", json={"text": f"c{i}"}, headers=b.headers
        )
        assert r.status_code == 201
        ids.append(r.json()["id"])
    assert post_state(neo, pid)["comments"] == 3
    recs, _, _ = neo.execute_query(
        "MATCH (:User {id: $b})-[i:INTERACTS]->(:User {id: $a}) RETURN i.weight AS w",
        a=a.id,
        b=b.id,
    )
    assert recs[0]["w"] == 1 + 3 * 2
    page1 = (
        await client.get(f"/v1/posts/{pid}/comments", params={"limit": 2}, headers=a.headers)
    ).json()
    page2 = (
        await client.get(
            f"/v1/posts/{pid}/comments",
            params={"limit": 2, "cursor": page1["next_cursor"]},
            headers=a.headers,
        )
    ).json()
    assert [c["id"] for c in page1["items"] + page2["items"]] == ids
    assert page2["next_cursor"] is None
    # The post's author may delete a comment on it; the count follows.
    assert (
        await client.delete(f"/v1/posts/{pid}/comments/{ids[0]}", headers=a.headers)
    ).status_code == 204
    assert post_state(neo, pid)["comments"] == 2


async def test_delete_post_removes_likes_and_comments(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    a, b = graph_users(neo, settings, 2)
    pid = await new_post(client, a.headers)
    await client.put(f"/v1/posts/{pid}/like", headers=b.headers)
    await client.post(f"/v1/posts/{pid}/comments", json={"text": "x"}, headers=b.headers)
    assert (await client.delete(f"/v1/posts/{pid}", headers=a.headers)).status_code == 204
    recs, _, _ = neo.execute_query(
        "RETURN COUNT { (:Post) } AS p, COUNT { (:Comment) } AS c, COUNT { ()-[:LIKED]->() } AS l"
    )
    assert recs[0].data() == {"p": 0, "c": 0, "l": 0}
    assert_error(await client.get(f"/v1/posts/{pid}", headers=a.headers), 404)


async def test_authorization_on_every_resource(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    owner, other, third = graph_users(neo, settings, 3)
    pid = await new_post(client, owner.headers)
    cid = (
        await client.post(f"/v1/posts/{pid}/comments", json={"text": "mine"}, headers=third.headers)
    ).json()["id"]
    before = post_state(neo, pid)
    # Someone else's post and comment: 403, nothing changes.
    assert_error(await client.delete(f"/v1/posts/{pid}", headers=other.headers), 403)
    assert_error(await client.delete(f"/v1/posts/{pid}/comments/{cid}", headers=other.headers), 403)
    assert post_state(neo, pid) == before
    # Private data: /me is always the caller's; there is no way to read another's settings.
    me = (await client.get("/v1/users/me", headers=other.headers)).json()
    assert me["id"] == other.id
    pub = (await client.get(f"/v1/users/{owner.id}", headers=other.headers)).json()
    assert "who_can_message" not in pub and "discoverable" not in pub and "roles" not in pub
    # A blocked viewer gets 404 for the post, its comments, likes and the author's posts.
    await client.post("/v1/blocks", json={"user_id": other.id}, headers=owner.headers)
    for method, url in [
        ("GET", f"/v1/posts/{pid}"),
        ("GET", f"/v1/posts/{pid}/comments"),
        ("PUT", f"/v1/posts/{pid}/like"),
        ("GET", f"/v1/users/{owner.id}/posts"),
    ]:
        assert_error(await client.request(method, url, headers=other.headers), 404)
    r = await client.post(
        f"/v1/posts/{pid}/comments", json={"text": "sneaky"}, headers=other.headers
    )
    assert_error(r, 404)
    assert post_state(neo, pid) == before
    # No token at all: 401 everywhere.
    assert_error(await client.get(f"/v1/posts/{pid}"), 401)


async def test_sizes_bounded(client: httpx.AsyncClient, neo: Any, settings: Settings) -> None:
    (a,) = graph_users(neo, settings, 1)
    assert_error(await client.post("/v1/posts", json={"text": "x" * 5001}, headers=a.headers), 422)
    assert_error(await client.post("/v1/posts", json={"text": "   "}, headers=a.headers), 422)
    assert_error(
        await client.post("/v1/posts", json={"text": "ok", "like_count": 5}, headers=a.headers), 422
    )
    assert_error(
        await client.post(
            "/v1/posts",
            content=b"{not json",
            headers={**a.headers, "content-type": "application/json"},
        ),
        422,
    )
    recs, _, _ = neo.execute_query("RETURN COUNT { (:Post) } AS n")
    assert recs[0]["n"] == 0


async def test_user_posts_pagination(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    a, b = graph_users(neo, settings, 2)
    ids = [await new_post(client, a.headers, f"post {i}") for i in range(7)]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (
            await client.get(f"/v1/users/{a.id}/posts", params=params, headers=b.headers)
        ).json()
        seen += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids))


async def test_openapi_lists_every_endpoint_with_models(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    ops = [(path, method, op) for path, item in doc["paths"].items() for method, op in item.items()]
    assert len(ops) >= 30
    for path, method, op in ops:
        if method in ("post", "put", "patch") and "requestBody" not in op:
            # only action endpoints without a body
            assert path.endswith(("/accept", "/decline", "/like", "/logout", "/dismiss")), (
                path,
                method,
            )
        ok = [c for c in op["responses"] if c.startswith("2")]
        assert ok, (path, method)
        for code in ok:
            if code != "204":
                assert "content" in op["responses"][code], (path, method, code)


async def test_concurrent_comment_creates_and_deletes_keep_the_count_exact(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    """Each of 20 comments is deleted 5 times at once (by its author and the post's author)
    while 20 new comments arrive: exactly one delete of each succeeds and `comment_count`
    ends equal to the comments that exist. Deleting the same comment several times at once
    is what exposed the double decrement: the old query matched the comment before it
    locked the post, so a delete that waited for the lock still held the comment row."""
    author, *commenters = graph_users(neo, settings, 11)
    pid = await new_post(client, author.headers)

    async def comment(u: Any, text: str) -> str:
        r = await client.post(f"/v1/posts/{pid}/comments", json={"text": text}, headers=u.headers)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    doomed = await asyncio.gather(*[comment(u, f"old {i}") for i in range(2) for u in commenters])
    assert post_state(neo, pid)["comments"] == 20
    owner = {cid: commenters[i % 10] for i, cid in enumerate(doomed)}

    async def delete(cid: str, u: Any) -> tuple[str, int]:
        r = await client.delete(f"/v1/posts/{pid}/comments/{cid}", headers=u.headers)
        return cid, r.status_code

    deletes = [delete(cid, u) for cid in doomed for u in (owner[cid], author) * 2 + (author,)]
    creates = [comment(u, f"new {i}") for i in range(2) for u in commenters]
    results = await asyncio.gather(*deletes, *creates)
    outcomes = [r for r in results if isinstance(r, tuple)]
    assert {status for _, status in outcomes} <= {204, 404}, outcomes
    assert post_state(neo, pid) == {
        "likes": 0,
        "comments": 20,
        "like_edges": 0,
        "comment_nodes": 20,
    }
    succeeded = sorted(cid for cid, status in outcomes if status == 204)
    assert succeeded == sorted(doomed)  # exactly one success per comment
