"""docs/asyncapi.yaml is the WebSocket protocol: frames captured from a real socket
validate against its schemas (every server frame type at least once), its examples
validate too, and every close code the session can send is documented."""

from __future__ import annotations

import ast
import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import websockets
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7
from websockets.exceptions import ConnectionClosed

from core.config import Settings
from redislayer import realtime, rkeys, wssession
from tests.apiproc import ApiProcess
from tests.factories import U, graph_users

ROOT = Path(__file__).resolve().parent.parent
DOC_PATH = ROOT / "docs" / "asyncapi.yaml"
DOC_URI = "urn:socialgraph:asyncapi"


def load_doc() -> dict[str, Any]:
    doc = yaml.safe_load(DOC_PATH.read_text())
    assert isinstance(doc, dict)
    return doc


def validator(doc: dict[str, Any], message: str) -> jsonschema.Draft7Validator:
    """The payload schema of `components.messages.<message>`, its `$ref`s resolved in the
    whole document (AsyncAPI schemas are a superset of JSON Schema draft 7)."""
    registry: Registry[Any] = Registry().with_resource(
        DOC_URI, Resource.from_contents(doc, default_specification=DRAFT7)
    )
    schema = {"$ref": f"{DOC_URI}#/components/messages/{message}/payload"}
    return jsonschema.Draft7Validator(schema, registry=registry)


def server_messages(doc: dict[str, Any]) -> dict[str, str]:
    """Frame `type` -> components.messages key, for what the server sends."""
    out = {}
    for ref in doc["operations"]["receiveEvents"]["messages"]:
        key = ref["$ref"].rsplit("/", 1)[-1]
        channel_ref = doc["channels"]["userEvents"]["messages"][key]["$ref"]
        name = channel_ref.rsplit("/", 1)[-1]
        out[doc["components"]["messages"][name]["name"]] = name
    return out


def documented_close_codes(doc: dict[str, Any]) -> set[int]:
    return {int(c["code"]) for c in doc["channels"]["userEvents"]["x-close-codes"]}


def test_document_shape_and_examples() -> None:
    doc = load_doc()
    assert doc["asyncapi"].startswith("3.")
    assert doc["channels"]["userEvents"]["address"] == "/v1/ws"
    messages = doc["components"]["messages"]
    assert set(server_messages(doc)) == {
        "message",
        "friend_request",
        "friend_request_accepted",
        "heartbeat",
        "pong",
        "resync",
    }
    for name, message in messages.items():
        assert message.get("examples"), f"{name} has no example"
        for example in message["examples"]:
            validator(doc, name).validate(example["payload"])
    for code in doc["channels"]["userEvents"]["x-close-codes"]:
        assert code["when"] and code["client"], code


def close_codes_in_session() -> set[int]:
    """Every close code redislayer/wssession.py can send: literals passed as `code=` or
    assigned to `close_code`, and the `CLOSE_*` constants it names (its own and
    `realtime`'s)."""
    tree = ast.parse(Path(wssession.__file__).read_text())
    constants = {
        name: value
        for module in (realtime, wssession)
        for name, value in vars(module).items()
        if name.startswith("CLOSE_") and isinstance(value, int)
    }
    codes: set[int] = set()

    def code_of(node: ast.expr) -> None:
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            codes.add(node.value)
        elif isinstance(node, ast.Name | ast.Attribute):
            name = node.id if isinstance(node, ast.Name) else node.attr
            if name.startswith("CLOSE_"):
                codes.add(constants[name])

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg == "code":
                    code_of(kw.value)
        elif isinstance(node, ast.Assign):
            targets = [t for t in node.targets if isinstance(t, ast.Attribute | ast.Tuple)]
            for target in targets:
                names = target.elts if isinstance(target, ast.Tuple) else [target]
                values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
                for t, v in zip(names, values, strict=False):
                    if isinstance(t, ast.Attribute) and t.attr == "close_code":
                        code_of(v)
        elif isinstance(node, ast.Name | ast.Attribute):
            code_of(node)  # a CLOSE_* constant named anywhere in the session
    return codes


def test_every_close_code_of_the_session_is_documented() -> None:
    codes = close_codes_in_session()
    # The scan itself finds what the session is known to use.
    assert {1000, 1008, 1009, 1011, 4001, 4003, 4008} <= codes
    assert codes <= documented_close_codes(load_doc()), codes - documented_close_codes(load_doc())


# ------------------------------------------------------------------ real frames


@pytest.fixture(scope="module")
def api(settings: Settings) -> Iterator[ApiProcess]:
    """One API process with a 1 s heartbeat, so a heartbeat frame comes quickly."""
    with ApiProcess(settings, WS_HEARTBEAT_SECONDS="1") as proc:
        yield proc


def token(u: U) -> str:
    return u.headers["Authorization"].removeprefix("Bearer ")


class Capture:
    """Every frame one socket received, parsed."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []

    async def next_of(self, kind: str, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {kind} frame within {timeout}s; got {self.frames}"
            frame = json.loads(await asyncio.wait_for(self.ws.recv(), remaining))
            self.frames.append(frame)
            if frame["type"] == kind:
                return dict(frame)


async def test_real_frames_validate_against_the_document(
    api: ApiProcess, neo: Any, rds: Any, settings: Settings
) -> None:
    doc = load_doc()
    kinds = server_messages(doc)
    a, b = graph_users(neo, settings, 2)
    ref = {a.id: {"id": a.id, "handle": a.handle, "display_name": a.handle}}
    ref[b.id] = {"id": b.id, "handle": b.handle, "display_name": b.handle}
    frames: list[dict[str, Any]] = []
    async with (
        httpx.AsyncClient(base_url=api.url) as http,
        websockets.connect(f"{api.ws_url}/v1/ws?token={token(a)}") as ws_a,
        websockets.connect(f"{api.ws_url}/v1/ws?token={token(b)}") as ws_b,
    ):
        sa, sb = Capture(ws_a), Capture(ws_b)
        r = await http.post("/v1/friend-requests", json={"user_id": b.id}, headers=a.headers)
        assert r.status_code in (200, 201, 202), r.text
        request = await sb.next_of("friend_request")
        assert request["user"] == ref[a.id]
        r = await http.post(f"/v1/friend-requests/{a.id}/accept", headers=b.headers)
        assert r.status_code == 204, r.text
        accepted = await sa.next_of("friend_request_accepted")
        assert accepted["user"] == ref[b.id]
        r = await http.post(
            "/v1/messages",
            json={"to": b.id, "text": "schema check"},
            headers={**a.headers, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert r.status_code == 201, r.text
        message = await sb.next_of("message")
        assert message["user"] == ref[a.id] and message["message"]["id"] == r.json()["id"]
        await ws_b.send("ping")
        await sb.next_of("pong")
        await sb.next_of("heartbeat", timeout=5)
        frames += sa.frames + sb.frames

    # A resume from before a removed event starts with `resync`, then replays the rest.
    first = rds.xrange(rkeys.user_events(b.id), count=1)[0][0]
    rds.xdel(rkeys.user_events(b.id), first)
    async with websockets.connect(f"{api.ws_url}/v1/ws?token={token(b)}&since=0-1") as ws:
        resumed = Capture(ws)
        await resumed.next_of("resync")
        await resumed.next_of("message")
        frames += resumed.frames

    seen = set()
    for frame in frames:
        assert frame["type"] in kinds, frame
        validator(doc, kinds[frame["type"]]).validate(frame)
        seen.add(frame["type"])
    assert seen == set(kinds), set(kinds) - seen


async def test_refusals_close_with_documented_codes(
    api: ApiProcess, neo: Any, settings: Settings
) -> None:
    documented = documented_close_codes(load_doc())
    (a,) = graph_users(neo, settings, 1)
    for query, code in (("?token=not-a-token", 4001), (f"?token={token(a)}&since=x", 1008)):
        async with websockets.connect(f"{api.ws_url}/v1/ws{query}") as ws:
            with pytest.raises(ConnectionClosed) as info:
                await asyncio.wait_for(ws.recv(), 5)
        assert info.value.rcvd is not None and info.value.rcvd.code == code
        assert code in documented


async def test_events_keyed_by_user_alone_leave_with_that_user(app: Any, rds: Any) -> None:
    """Blocks and erasures find an event by its `user` reference, so dropping the
    deprecated bare ids (`from`, `by`) later keeps them working."""
    inbox = app.state.inbox
    for other in ("blocked", "kept"):
        ref = {"id": other, "handle": f"{other}_user", "display_name": None}
        await inbox.push_event("blocker", {"type": "friend_request", "user": ref})
    await inbox.hide("blocker", "blocked")
    left = [json.loads(f["data"]) for _, f in rds.xrange(rkeys.user_events("blocker"))]
    assert [e["user"]["id"] for e in left] == ["kept"]
