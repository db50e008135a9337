"""One cursor format for every paged list: a cursor names its list, so a cursor from one
list given to another is refused (400) instead of silently paging from a foreign key.
And one home for HTTP models: the OpenAPI document has one `UserRef`."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from api.main import create_app
from core.config import Settings
from tests.factories import U, assert_error, graph_users

MALFORMED = "the cursor is malformed; restart from the first page"


def test_openapi_has_one_user_ref() -> None:
    names = set(create_app(Settings(SOCIALGRAPH_ENV="test")).openapi()["components"]["schemas"])
    assert [n for n in names if n.endswith("UserRef")] == ["UserRef"]
    assert [n for n in names if "__" in n] == []  # no module-qualified duplicates


async def ok(client: httpx.AsyncClient, r: Any) -> Any:
    response = await r
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


async def test_a_cursor_from_one_list_is_refused_by_every_other(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    hub, f1, f2, g1, g2, in1, in2, out1, out2, b1, b2 = graph_users(neo, settings, 11)

    async def befriend(a: U, b: U) -> None:
        await ok(
            client, client.post("/v1/friend-requests", json={"user_id": b.id}, headers=a.headers)
        )
        await ok(client, client.post(f"/v1/friend-requests/{a.id}/accept", headers=b.headers))

    for a, b in [(hub, f1), (hub, f2), (f1, g1), (f2, g1), (f1, g2), (f2, g2)]:
        await befriend(a, b)
    for u in (in1, in2):
        await ok(
            client, client.post("/v1/friend-requests", json={"user_id": hub.id}, headers=u.headers)
        )
    for u in (out1, out2):
        await ok(
            client, client.post("/v1/friend-requests", json={"user_id": u.id}, headers=hub.headers)
        )
    for u in (b1, b2):
        await ok(client, client.post("/v1/blocks", json={"user_id": u.id}, headers=hub.headers))
    for text in ("one", "two"):
        await ok(client, client.post("/v1/posts", json={"text": text}, headers=f1.headers))
    own = [
        (await ok(client, client.post("/v1/posts", json={"text": t}, headers=hub.headers)))["id"]
        for t in ("mine", "also mine")
    ]
    for text in ("first", "second"):
        await ok(
            client,
            client.post(f"/v1/posts/{own[0]}/comments", json={"text": text}, headers=hub.headers),
        )
    for u in (f1, f2):
        await ok(
            client,
            client.post(
                "/v1/messages",
                json={"to": hub.id, "text": "hello"},
                headers={**u.headers, "Idempotency-Key": uuid.uuid4().hex},
            ),
        )

    lists: dict[str, tuple[str, dict[str, str]]] = {
        "suggestions": ("/v1/suggestions", {}),
        "suggestions jaccard": ("/v1/suggestions", {"algorithm": "jaccard"}),
        "feed recent": ("/v1/feed", {}),
        "feed top": ("/v1/feed", {"order": "top"}),
        "friends": (f"/v1/users/{hub.id}/friends", {}),
        "mutual friends": (f"/v1/users/{g1.id}/mutual-friends", {}),
        "incoming requests": ("/v1/friend-requests/incoming", {}),
        "outgoing requests": ("/v1/friend-requests/outgoing", {}),
        "blocks": ("/v1/blocks", {}),
        "user search": ("/v1/users", {"prefix": "puser"}),
        "posts": (f"/v1/users/{hub.id}/posts", {}),
        "comments": (f"/v1/posts/{own[0]}/comments", {}),
        "conversations": ("/v1/conversations", {}),
    }
    cursors: dict[str, str] = {}
    for name, (url, params) in lists.items():
        page = await ok(client, client.get(url, params={**params, "limit": 1}, headers=hub.headers))
        assert page["next_cursor"], name
        cursors[name] = page["next_cursor"]
        again = await client.get(
            url, params={**params, "limit": 1, "cursor": cursors[name]}, headers=hub.headers
        )
        assert again.status_code == 200, (name, again.text)

    accepted = []
    for target, (url, params) in lists.items():
        for source, cursor in cursors.items():
            if source == target:
                continue
            r = await client.get(url, params={**params, "cursor": cursor}, headers=hub.headers)
            if r.status_code != 400:
                accepted.append(f"{source} -> {target}: {r.status_code}")
                continue
            assert_error(r, 400, "invalid")
            assert r.json()["error"]["message"] == MALFORMED
    assert accepted == []
