"""One cursor format for every paged list: a cursor names its list, so a cursor from one
list given to another is refused (400) instead of silently paging from a foreign key.
And one home for HTTP models: the OpenAPI document has one `UserRef`."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import httpx
import hypothesis
import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from api.main import create_app
from core import paging
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


Lists = dict[str, tuple[str, dict[str, str]]]


async def paged_world(client: httpx.AsyncClient, neo: Any, settings: Settings) -> tuple[U, Lists]:
    """A small graph where every paged list of the API has at least two items for `hub`;
    returns hub and each list's (url, params)."""
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

    lists: Lists = {
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
    return hub, lists


async def test_a_cursor_from_one_list_is_refused_by_every_other(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> None:
    hub, lists = await paged_world(client, neo, settings)
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


# Any JSON a forger could put in a cursor: unbounded integers, floats past the double range
# (`1e400` parses as infinity), NaN, strings, nesting.
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _cursor_text(values: Any) -> str:
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# A replacement for one key of a real cursor: same-looking or not, in Neo4j's range or far
# outside it (10**309 does not fit a float score; 2**63 does not fit a Neo4j integer).
_key = (
    st.integers(-(10**320), 10**320)
    | st.sampled_from([2**63, -(2**63) - 1, 10**309, -(10**309)])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.none()
    | st.booleans()
)


@st.composite
def forged(draw: st.DrawFn) -> tuple[str, Any]:
    """("raw", text), ("keys", {position: new value} over a real cursor of the route),
    ("big", a float literal past the double range), or ("other", any JSON)."""
    kind = draw(st.sampled_from(["raw", "keys", "keys", "keys", "big", "other"]))
    if kind == "raw":
        return kind, draw(st.text(alphabet=_B64, max_size=700) | st.text(max_size=40))
    if kind == "keys":
        return kind, draw(st.dictionaries(st.integers(1, 4), _key, min_size=1, max_size=3))
    if kind == "big":
        return kind, draw(st.integers(1, 4))
    return kind, draw(_json)


@pytest.fixture
async def world(
    client: httpx.AsyncClient, neo: Any, settings: Settings
) -> tuple[U, Lists, dict[str, tuple[Any, ...]]]:
    """The paged world and a real next-page cursor's values for each list."""
    hub, lists = await paged_world(client, neo, settings)
    real = {}
    for name, (url, params) in lists.items():
        page = await ok(client, client.get(url, params={**params, "limit": 1}, headers=hub.headers))
        real[name] = paging.decode(page["next_cursor"])
    return hub, lists, real


@hypothesis.settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(cursor=forged())
async def test_forged_cursors_get_400_never_500(
    client: httpx.AsyncClient,
    world: tuple[U, Lists, dict[str, tuple[Any, ...]]],
    cursor: tuple[str, Any],
) -> None:
    """Issue 12, finding 4: every paged route answers a forged cursor with 200 (a cursor
    of the right shape and ranges, whatever its keys) or the one 400/422 error body; a
    cursor holding a number Neo4j cannot hold was a 500 on four routes."""
    hub, lists, real = world
    kind, value = cursor
    for name, (url, params) in lists.items():
        if kind == "raw":
            text = value
        elif kind == "keys":  # the route's own tag, so the keys reach the type/range checks
            values = list(real[name])
            for i, v in value.items():
                if i < len(values):
                    values[i] = v
            text = _cursor_text(values)
        elif kind == "big":  # 1e400 is valid JSON and parses as infinity
            parts = [json.dumps(v) for v in real[name]]
            parts[min(value, len(parts) - 1)] = "1e400"
            raw = ("[" + ",".join(parts) + "]").encode()
            text = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        else:
            text = _cursor_text(value)
        r = await client.get(url, params={**params, "cursor": text}, headers=hub.headers)
        assert r.status_code in (200, 400, 422), (name, text, r.status_code, r.text)
        if r.status_code != 200:
            assert_error(r, r.status_code)
