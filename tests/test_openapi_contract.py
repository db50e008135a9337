"""The OpenAPI document as a contract (no server needed).

- The document is the committed snapshot, docs/openapi.json: any difference fails, and
  the message says whether clients would break and how to refresh the snapshot.
- The comparator behind that message (`api.openapi_snapshot.breaking_changes`) is proved
  on mutations of the real document: each kind of breaking change is reported, and
  compatible additions are not.
- What the document must hold: a summary, a description and a stable camelCase
  operationId per operation; a description and valid examples per schema; an example
  for every request body and response body; the response headers the app sends.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import jsonschema_rs
import pytest

from api import openapi_snapshot
from api.openapi import operation_id_for
from api.openapi_snapshot import breaking_changes, differences, review

Doc = dict[str, Any]


@pytest.fixture(scope="module")
def doc() -> Doc:
    return openapi_snapshot.current()


def operations(doc: Doc) -> Iterator[tuple[str, Doc]]:
    for path, item in doc["paths"].items():
        for method, op in item.items():
            yield f"{method.upper()} {path}", op


# ------------------------------------------------------------------ the snapshot


def test_the_document_is_the_committed_snapshot(doc: Doc) -> None:
    message = review(openapi_snapshot.load(), doc)
    assert message is None, message


# ------------------------------------------------------------------ the comparator


def schema(doc: Doc, name: str) -> Doc:
    found: Doc = doc["components"]["schemas"][name]
    return found


def op(doc: Doc, method: str, path: str) -> Doc:
    found: Doc = doc["paths"][path][method]
    return found


def remove_response_field(d: Doc) -> None:  # UserRef is only ever referenced ($ref)
    del schema(d, "UserRef")["properties"]["handle"]
    schema(d, "UserRef")["required"].remove("handle")


def response_field_optional(d: Doc) -> None:
    schema(d, "PostPublic")["required"].remove("like_count")


def response_field_nullable(d: Doc) -> None:
    count = schema(d, "UnreadTotal")["properties"]["total"]
    count["anyOf"] = [{"type": count.pop("type")}, {"type": "null"}]


def response_enum_widened(d: Doc) -> None:
    schema(d, "FriendRequestResult")["properties"]["status"]["enum"].append("ignored")


def body_field_string_to_integer(d: Doc) -> None:
    schema(d, "PostCreate")["properties"]["text"]["type"] = "integer"


def body_field_new_enum(d: Doc) -> None:
    schema(d, "CommentCreate")["properties"]["text"]["enum"] = ["+1"]


def body_field_lower_max_length(d: Doc) -> None:
    schema(d, "MessageCreate")["properties"]["text"]["maxLength"] = 280


def body_field_now_required(d: Doc) -> None:
    schema(d, "UserUpdate")["required"] = ["bio"]


def body_new_required_field(d: Doc) -> None:
    user = schema(d, "UserCreate")
    user["properties"]["email"] = {"type": "string"}
    user["required"].append("email")


def parameter_enum_narrowed(d: Doc) -> None:
    (algorithm,) = [
        p for p in op(d, "get", "/v1/suggestions")["parameters"] if p["name"] == "algorithm"
    ]
    algorithm["schema"]["enum"].remove("jaccard")


def parameter_lower_maximum(d: Doc) -> None:
    (limit,) = [p for p in op(d, "get", "/v1/feed")["parameters"] if p["name"] == "limit"]
    limit["schema"]["maximum"] = 50


def new_required_parameter(d: Doc) -> None:
    op(d, "get", "/v1/feed")["parameters"].append(
        {"name": "region", "in": "query", "required": True, "schema": {"type": "string"}}
    )


def parameter_removed(d: Doc) -> None:
    feed = op(d, "get", "/v1/feed")
    feed["parameters"] = [p for p in feed["parameters"] if p["name"] != "before"]


def path_removed(d: Doc) -> None:
    del d["paths"]["/v1/blocks"]


def operation_removed(d: Doc) -> None:
    del d["paths"]["/v1/posts/{post_id}/like"]["delete"]


def success_response_removed(d: Doc) -> None:
    responses = op(d, "post", "/v1/messages")["responses"]
    responses["202"] = responses.pop("201")


def header_dropped(d: Doc) -> None:
    del op(d, "post", "/v1/messages")["responses"]["200"]["headers"]["Idempotent-Replayed"]


BREAKING: dict[Callable[[Doc], None], str] = {
    remove_response_field: r"^GET /v1/users/\{user_id\}/mutual-friends response 200"
    r"\.items\[\]\.handle: removed$",
    response_field_optional: r"^GET /v1/posts/\{post_id\} response 200\.like_count: "
    r"may now be absent$",
    response_field_nullable: r"^GET /v1/messages/unread response 200\.total: may now be null$",
    response_enum_widened: r"^POST /v1/friend-requests response 201\.status: "
    r"may now be \"ignored\"$",
    body_field_string_to_integer: r"^POST /v1/posts body\.text: no longer accepts string$",
    body_field_new_enum: r"^POST /v1/posts/\{post_id\}/comments body\.text: now restricted to",
    body_field_lower_max_length: r"^POST /v1/messages body\.text: maxLength lowered to 280$",
    body_field_now_required: r"^PATCH /v1/users/me body\.bio: now required$",
    body_new_required_field: r"^POST /v1/users body\.email: new required field$",
    parameter_enum_narrowed: r"^GET /v1/suggestions parameter algorithm \(query\): "
    r"no longer accepts \"jaccard\"$",
    parameter_lower_maximum: r"^GET /v1/feed parameter limit \(query\): maximum lowered to 50$",
    new_required_parameter: r"^GET /v1/feed parameter region \(query\): new required parameter$",
    parameter_removed: r"^GET /v1/feed parameter before \(query\): removed$",
    path_removed: r"^/v1/blocks: path removed$",
    operation_removed: r"^DELETE /v1/posts/\{post_id\}/like: operation removed$",
    success_response_removed: r"^POST /v1/messages response 201: removed$",
    header_dropped: r"^POST /v1/messages response 200: header Idempotent-Replayed no longer",
}


@pytest.mark.parametrize("mutate", list(BREAKING), ids=lambda m: m.__name__)
def test_the_comparator_reports_each_breaking_change(
    doc: Doc, mutate: Callable[[Doc], None]
) -> None:
    changed = copy.deepcopy(doc)
    mutate(changed)
    found = breaking_changes(doc, changed)
    assert any(re.search(BREAKING[mutate], line) for line in found), found
    message = review(doc, changed)
    assert message is not None and message.startswith("BREAKING"), message


def new_optional_parameter(d: Doc) -> None:
    op(d, "get", "/v1/feed")["parameters"].append(
        {"name": "lang", "in": "query", "required": False, "schema": {"type": "string"}}
    )


def new_path(d: Doc) -> None:
    d["paths"]["/v1/bookmarks"] = {"get": copy.deepcopy(op(d, "get", "/v1/blocks"))}


def new_response_field(d: Doc) -> None:
    user = schema(d, "UserRef")
    user["properties"]["avatar_url"] = {"type": "string"}
    user["required"].append("avatar_url")


def input_widened(d: Doc) -> None:
    text = schema(d, "MessageCreate")["properties"]["text"]
    text["maxLength"] = 8000
    schema(d, "UserCreate")["required"].remove("password")


def new_optional_body_field(d: Doc) -> None:
    schema(d, "PostCreate")["properties"]["visibility"] = {"type": "string", "enum": ["friends"]}


def reworded(d: Doc) -> None:
    op(d, "get", "/v1/feed")["summary"] = "The feed"
    schema(d, "UserRef")["description"] = "A user"


@pytest.mark.parametrize(
    "mutate",
    [
        new_optional_parameter,
        new_path,
        new_response_field,
        input_widened,
        new_optional_body_field,
        reworded,
    ],
    ids=lambda m: m.__name__,
)
def test_compatible_changes_are_not_breaking_but_ask_for_a_refresh(
    doc: Doc, mutate: Callable[[Doc], None]
) -> None:
    changed = copy.deepcopy(doc)
    mutate(changed)
    assert breaking_changes(doc, changed) == []
    message = review(doc, changed)
    assert message is not None and message.startswith("The API changed compatibly"), message
    assert "make openapi" in message


def test_an_unchanged_document_passes(doc: Doc) -> None:
    assert breaking_changes(doc, copy.deepcopy(doc)) == []
    assert review(doc, copy.deepcopy(doc)) is None


def test_differences_name_json_pointers() -> None:
    old = {"paths": {"/a/{id}": {"get": {"summary": "A"}}}, "info": {"version": "1"}}
    new = {"paths": {"/a/{id}": {"get": {"summary": "B"}, "put": {}}}, "info": {}}
    assert differences(old, new) == [
        "removed /info/version",
        "changed /paths/~1a~1{id}/get/summary",
        "added /paths/~1a~1{id}/put",
    ]


def test_recursive_schemas_terminate() -> None:
    node: Doc = {
        "type": "object",
        "properties": {"children": {"type": "array", "items": {"$ref": "#/components/schemas/N"}}},
    }
    body = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/N"}}}}
    old: Doc = {
        "paths": {"/n": {"get": {"responses": {"200": body}}}},
        "components": {"schemas": {"N": node}},
    }
    new = copy.deepcopy(old)
    del new["components"]["schemas"]["N"]["properties"]["children"]
    assert breaking_changes(old, new) == ["GET /n response 200.children: removed"]


# ------------------------------------------------------------------ what the document holds


def test_every_operation_has_a_summary_a_description_and_a_stable_id(doc: Doc) -> None:
    ids = []
    for where, o in operations(doc):
        assert o.get("summary") and o.get("description"), where
        assert re.fullmatch(r"[a-z]+(?:[A-Z0-9][a-z0-9]*)*", o["operationId"]), where
        ids.append(o["operationId"])
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    known = {"listSuggestions", "getFeed", "sendMessage", "login", "getMe", "runCypher"}
    assert known <= set(ids)


def test_the_fallback_operation_id_comes_from_method_and_path() -> None:
    class Route:
        operation_id = None
        methods = {"GET"}
        path_format = "/v1/users/{user_id}/friends"

    assert operation_id_for(Route()) == "getV1UsersUserIdFriends"  # type: ignore[arg-type]


def schema_examples(s: Doc, doc: Doc) -> list[Any]:
    """A schema's examples; for an array of a model, lists of the model's examples; for
    a union (an optional body), its members' examples."""
    if "anyOf" in s and "examples" not in s:
        return [e for member in s["anyOf"] for e in schema_examples(member, doc)]
    if "$ref" in s:
        s = doc["components"]["schemas"][s["$ref"].rpartition("/")[2]]
    if s.get("type") == "array" and "examples" not in s:
        return [[e] for e in schema_examples(s.get("items", {}), doc)]
    return list(s.get("examples", []))


def examples_of(content: Doc, doc: Doc) -> list[Any]:
    """The examples a media type offers: its own, or its schema's."""
    own = [content["example"]] if "example" in content else []
    own += [e["value"] for e in content.get("examples", {}).values()]
    return own + schema_examples(content.get("schema", {}), doc)


def validator(doc: Doc, schema: Doc) -> Any:
    return jsonschema_rs.validator_for(
        {**schema, "components": doc["components"]}, validate_formats=True
    )


def test_every_body_has_a_valid_example(doc: Doc) -> None:
    for where, o in operations(doc):
        bodies = [("request", o["requestBody"]["content"])] if "requestBody" in o else []
        bodies += [(f"response {s}", r.get("content", {})) for s, r in o["responses"].items()]
        for what, content in bodies:
            for media, c in content.items():
                found = examples_of(c, doc)
                assert found, f"{where} {what} {media}: no example"
                check = validator(doc, c["schema"])
                for example in found:
                    assert check.is_valid(example), (where, what, example)


def test_every_schema_is_described_with_valid_examples(doc: Doc) -> None:
    for name, s in doc["components"]["schemas"].items():
        assert s.get("description"), f"{name}: no description"
        assert s.get("examples"), f"{name}: no examples"
        check = validator(doc, {"$ref": f"#/components/schemas/{name}"})
        for example in s["examples"]:
            errors = [e.message for e in check.iter_errors(example)]
            assert not errors, (name, errors)


def test_response_headers_are_documented(doc: Doc) -> None:
    for where, o in operations(doc):
        for status, response in o["responses"].items():
            headers = {
                name: doc["components"]["headers"][h["$ref"].rpartition("/")[2]]
                if "$ref" in h
                else h
                for name, h in response.get("headers", {}).items()
            }
            assert headers.get("X-Request-ID", {}).get("required"), (where, status)
            is_error_body = "ErrorBody" in json.dumps(response.get("content", {}))
            if status in ("429", "503") and is_error_body:
                assert headers["Retry-After"]["required"], (where, status)
    replay = op(doc, "post", "/v1/messages")["responses"]["200"]["headers"]
    assert replay["Idempotent-Replayed"]["schema"] == {"type": "string", "enum": ["true"]}


def test_the_description_points_to_the_asyncapi_document(doc: Doc) -> None:
    assert "docs/asyncapi.yaml" in doc["info"]["description"]
    assert not any("/ws" in path for path in doc["paths"])


def test_a_header_no_longer_sent_is_breaking_through_refs(doc: Doc) -> None:
    changed = copy.deepcopy(doc)
    changed["components"]["headers"]["X-Request-ID"]["required"] = False
    found = breaking_changes(doc, changed)
    assert "GET /v1/feed response 200: header X-Request-ID no longer always sent" in found
