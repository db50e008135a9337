"""The committed OpenAPI snapshot, `docs/openapi.json`, and what a change to it breaks.

    python -m api.openapi_snapshot           write docs/openapi.json from the app (`make openapi`)
    python -m api.openapi_snapshot --check   exit 1 and say what differs, breaking changes first

`breaking_changes(old, new)` lists what a client written against `old` trips over in `new`:

- something removed: a path, an operation, a parameter, a request media type, a success
  response, a response field, or a response header that was always sent;
- an input narrowed: a parameter or body field that accepts fewer types, a new enum or
  fewer enum values, a lower maxLength/maxItems/maximum, a higher minLength/minItems/
  minimum, a new or changed pattern or format, extra fields refused;
- a new required input: a required parameter, body, or body field; authentication;
- an output widened: a response field that may now be absent or of another type (null
  too), or an enum value clients have never seen.

Anything else (new paths and operations, new optional inputs, new response fields,
wording) is compatible; `differences` lists every change so the snapshot is refreshed in
the same commit as the change. `$ref`s are followed in each document; a field is named by
its path from the body (`response 200.items[].user.handle`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from api.main import create_app
from core.config import Settings

SNAPSHOT = Path(__file__).resolve().parents[1] / "docs" / "openapi.json"
REFRESH = "`make openapi` (python -m api.openapi_snapshot)"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
INPUT, OUTPUT = "input", "output"
# Bounds that narrow what an input accepts when they fall (max*) or rise (min*).
UPPER = ("maxLength", "maxItems", "maxProperties", "maximum", "exclusiveMaximum")
LOWER = ("minLength", "minItems", "minProperties", "minimum", "exclusiveMinimum")

Doc = dict[str, Any]


def current() -> Doc:
    """The app's document as JSON would carry it (no server, no settings from outside)."""
    doc = create_app(Settings(SOCIALGRAPH_ENV="test")).openapi()
    loaded: Doc = json.loads(render(doc))
    return loaded


def render(doc: Doc) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def load(path: Path = SNAPSHOT) -> Doc:
    loaded: Doc = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def review(snapshot: Doc, doc: Doc) -> str | None:
    """None when `doc` is `snapshot`; else what differs, for a developer, breaking first."""
    if doc == snapshot:
        return None
    diffs = differences(snapshot, doc)
    listed = "\n".join(f"  {d}" for d in diffs[:25])
    if len(diffs) > 25:
        listed += f"\n  ... and {len(diffs) - 25} more"
    breaking = breaking_changes(snapshot, doc)
    if breaking:
        return (
            "BREAKING: clients written against docs/openapi.json would break:\n"
            + "\n".join(f"  {b}" for b in breaking)
            + "\nIf the break is intended and reviewed, refresh the snapshot with "
            f"{REFRESH} and commit docs/openapi.json with the change, saying why.\n"
            f"Every difference:\n{listed}"
        )
    return (
        "The API changed compatibly (nothing clients rely on broke), but docs/openapi.json "
        f"is out of date: refresh it with {REFRESH} and commit it with the change.\n"
        f"Every difference:\n{listed}"
    )


def differences(old: Any, new: Any, at: str = "") -> list[str]:
    """Every JSON pointer at which the documents differ: added, removed or changed."""
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return [] if old == new else [f"changed {at or '/'}"]
    out: list[str] = []
    for key in sorted(old.keys() | new.keys()):
        here = f"{at}/{key.replace('~', '~0').replace('/', '~1')}"
        if key not in new:
            out.append(f"removed {here}")
        elif key not in old:
            out.append(f"added {here}")
        else:
            out += differences(old[key], new[key], here)
    return out


def breaking_changes(old: Doc, new: Doc) -> list[str]:
    """What breaks a client of `old` in `new`, one `where: what` line each, sorted."""
    return _Compare(old, new).run()


class _Compare:
    def __init__(self, old: Doc, new: Doc) -> None:
        self.old, self.new = old, new
        self.found: set[str] = set()

    def report(self, where: str, what: str) -> None:
        self.found.add(f"{where}: {what}")

    def run(self) -> list[str]:
        new_paths = self.new.get("paths", {})
        for path, old_item in self.old.get("paths", {}).items():
            if path not in new_paths:
                self.report(path, "path removed")
                continue
            for method in METHODS:
                if method not in old_item:
                    continue
                where = f"{method.upper()} {path}"
                if method not in new_paths[path]:
                    self.report(where, "operation removed")
                else:
                    self.operation(where, old_item[method], new_paths[path][method])
        return sorted(self.found)

    def operation(self, where: str, old: Doc, new: Doc) -> None:
        if new.get("security") and not old.get("security"):
            self.report(where, "now requires authentication")
        self.parameters(where, old.get("parameters", []), new.get("parameters", []))
        self.request_body(where, old.get("requestBody"), new.get("requestBody"))
        self.responses(where, old.get("responses", {}), new.get("responses", {}))

    def parameters(self, where: str, old: list[Any], new: list[Any]) -> None:
        old_params, new_params = _params(self.old, old), _params(self.new, new)
        for key, param in old_params.items():
            at = f"{where} parameter {key[1]} ({key[0]})"
            if key not in new_params:
                self.report(at, "removed")
                continue
            if new_params[key].get("required") and not param.get("required"):
                self.report(at, "now required")
            self.schema(at, param.get("schema", {}), new_params[key].get("schema", {}), INPUT)
        for key, param in new_params.items():
            if key not in old_params and param.get("required"):
                self.report(f"{where} parameter {key[1]} ({key[0]})", "new required parameter")

    def request_body(self, where: str, old: Any, new: Any) -> None:
        if new is None:
            return  # no body any more: what clients send is ignored
        new = _resolve(self.new, new)[1]
        old = _resolve(self.old, old)[1] if old is not None else {}
        if new.get("required") and not old.get("required"):
            self.report(f"{where} body", "now required")
        for media, content in old.get("content", {}).items():
            at = f"{where} body" + _media(media)
            new_content = new.get("content", {}).get(media)
            if new_content is None:
                self.report(at, "media type no longer accepted")
            else:
                self.schema(at, content.get("schema", {}), new_content.get("schema", {}), INPUT)

    def responses(self, where: str, old: Doc, new: Doc) -> None:
        for status, old_response in old.items():
            at = f"{where} response {status}"
            if status not in new:
                if status.startswith("2"):
                    self.report(at, "removed")
                continue  # a documented error that no longer happens breaks nobody
            old_response = _resolve(self.old, old_response)[1]
            new_response = _resolve(self.new, new[status])[1]
            new_headers = {
                k.lower(): _resolve(self.new, v)[1]
                for k, v in new_response.get("headers", {}).items()
            }
            for name, header in old_response.get("headers", {}).items():
                still = new_headers.get(name.lower(), {}).get("required")
                if _resolve(self.old, header)[1].get("required") and not still:
                    self.report(at, f"header {name} no longer always sent")
            for media, content in old_response.get("content", {}).items():
                new_content = new_response.get("content", {}).get(media)
                if new_content is None:
                    self.report(at + _media(media), "media type no longer sent")
                elif "schema" in content:
                    self.schema(
                        at + _media(media), content["schema"], new_content.get("schema", {}), OUTPUT
                    )

    def schema(
        self, where: str, old: Any, new: Any, direction: str, seen: frozenset[Any] = frozenset()
    ) -> None:
        """Compare two schemas of one value; `direction` says who writes it: the client
        (INPUT: `new` must accept all `old` did) or the server (OUTPUT: `new` must promise
        all `old` did)."""
        old_ref, old = _resolve(self.old, old)
        new_ref, new = _resolve(self.new, new)
        if old_ref and (old_ref, new_ref) in seen:
            return  # a recursive schema, already being compared on this path
        seen = seen | {(old_ref, new_ref)}
        old_variants, new_variants = _variants(self.old, old), _variants(self.new, new)
        if direction == INPUT:
            for kind in old_variants:
                if not _covers(new_variants, kind):
                    self.report(where, f"no longer accepts {kind}")
        else:
            for kind in new_variants:
                if not _covers(old_variants, kind):
                    self.report(where, f"may now be {kind}")
        for kind, old_variant in old_variants.items():
            new_variant = new_variants.get(kind) or (
                new_variants.get("number") if kind == "integer" else None
            )
            if new_variant is not None:
                self.variant(where, kind, old_variant, new_variant, direction, seen)

    def variant(
        self, where: str, kind: str, old: Doc, new: Doc, direction: str, seen: frozenset[Any]
    ) -> None:
        """Compare two schemas of the same JSON type."""
        old_enum, new_enum = _enum(old), _enum(new)
        if direction == INPUT:
            if new_enum is not None and old_enum is None:
                self.report(where, f"now restricted to {_show(new_enum)}")
            elif new_enum is not None and old_enum is not None and old_enum - new_enum:
                self.report(where, f"no longer accepts {_show(old_enum - new_enum)}")
            for key in UPPER:
                if key in new and new[key] < old.get(key, float("inf")):
                    self.report(where, f"{key} lowered to {new[key]}")
            for key in LOWER:
                if key in new and new[key] > old.get(key, float("-inf")):
                    self.report(where, f"{key} raised to {new[key]}")
            for key in ("pattern", "format"):
                if key in new and new[key] != old.get(key):
                    self.report(where, f"new {key} {new[key]!r}")
        elif old_enum is not None and (new_enum is None or new_enum - old_enum):
            extra = "any value" if new_enum is None else _show(new_enum - old_enum)
            self.report(where, f"may now be {extra}")
        if kind == "object":
            self.object(where, old, new, direction, seen)
        elif kind == "array" and "items" in old and "items" in new:
            self.schema(f"{where}[]", old["items"], new["items"], direction, seen)

    def object(self, where: str, old: Doc, new: Doc, direction: str, seen: frozenset[Any]) -> None:
        old_props, new_props = old.get("properties", {}), new.get("properties", {})
        old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
        for name, old_prop in old_props.items():
            at = f"{where}.{name}"
            if name not in new_props:
                # An input that refuses unknown fields now refuses this one.
                if direction == OUTPUT or not _allows_extra(new):
                    self.report(at, "removed")
                continue
            if direction == OUTPUT and name in old_required and name not in new_required:
                self.report(at, "may now be absent")
            self.schema(at, old_prop, new_props[name], direction, seen)
        if direction == INPUT:
            for name in sorted(new_required - old_required):
                self.report(
                    f"{where}.{name}", "now required" if name in old_props else "new required field"
                )
            if _allows_extra(old) and not _allows_extra(new):
                self.report(where, "no longer accepts extra fields")
        old_extra, new_extra = old.get("additionalProperties"), new.get("additionalProperties")
        if isinstance(old_extra, dict) and isinstance(new_extra, dict):
            self.schema(f"{where}.*", old_extra, new_extra, direction, seen)


def _resolve(doc: Doc, node: Any) -> tuple[str, Any]:
    """(the last `$ref` followed or "", the node it leads to)."""
    ref = ""
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        node = doc
        for part in ref.removeprefix("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return ref, node


def _params(doc: Doc, params: list[Any]) -> dict[tuple[str, str], Doc]:
    """Parameters by (location, name); header names are case-insensitive."""
    out = {}
    for param in params:
        param = _resolve(doc, param)[1]
        name = param["name"].lower() if param["in"] == "header" else param["name"]
        out[(param["in"], name)] = param
    return out


def _variants(doc: Doc, schema: Any) -> dict[str, Doc]:
    """The schema as {JSON type: the schema a value of that type must match}; `any` for
    a schema that names no type (pydantic's `Any`). Unions (`anyOf`, `oneOf`) are split."""
    if not isinstance(schema, dict):
        return {"any": {}} if schema is not False else {}
    if len(schema.get("allOf", [])) == 1:  # a $ref with siblings, as some generators write
        return _variants(doc, _resolve(doc, schema["allOf"][0])[1])
    branches = schema.get("anyOf") or schema.get("oneOf")
    if branches:
        out: dict[str, Doc] = {}
        for branch in branches:
            for kind, variant in _variants(doc, _resolve(doc, branch)[1]).items():
                out.setdefault(kind, variant)
        return out
    kinds = schema.get("type")
    if kinds is None:
        values = [schema["const"]] if "const" in schema else schema.get("enum")
        if values is not None:
            kinds = sorted({_json_type(v) for v in values})
        elif "properties" in schema:
            kinds = "object"
        else:
            return {"any": schema}
    return {kind: schema for kind in ([kinds] if isinstance(kinds, str) else kinds)}


def _covers(variants: dict[str, Doc], kind: str) -> bool:
    return kind in variants or "any" in variants or (kind == "integer" and "number" in variants)


def _enum(schema: Doc) -> frozenset[str] | None:
    """The allowed values (as JSON text), or None when the schema lists none."""
    if "const" in schema:
        return frozenset([json.dumps(schema["const"])])
    if "enum" in schema:
        return frozenset(json.dumps(v) for v in schema["enum"])
    return None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else "string"


def _allows_extra(schema: Doc) -> bool:
    return schema.get("additionalProperties", True) is not False


def _show(values: frozenset[str]) -> str:
    return ", ".join(sorted(values))


def _media(media: str) -> str:
    return "" if media == "application/json" else f" ({media})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m api.openapi_snapshot",
        description="Write docs/openapi.json from the app, or --check it.",
    )
    parser.add_argument(
        "--check", action="store_true", help="compare instead of writing; exit 1 on a difference"
    )
    args = parser.parse_args(argv)
    doc = current()
    if not args.check:
        SNAPSHOT.write_text(render(doc), encoding="utf-8")
        print(f"wrote {SNAPSHOT}")
        return 0
    message = review(load(), doc)
    print(message or f"{SNAPSHOT} is up to date")
    return 1 if message else 0


if __name__ == "__main__":
    raise SystemExit(main())
