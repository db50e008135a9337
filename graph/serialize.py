"""JSON-safe conversion of the values the Neo4j driver returns.

`to_jsonable(value)` turns anything a record can hold into plain JSON types, so
`json.dumps` works on the result and the HTTP API can return it as it is:

| driver value | JSON |
|---|---|
| `Node` | `{"element_id", "labels" (sorted), "properties"}` |
| `Relationship` | `{"element_id", "type", "start", "end", "properties"}` (start/end: element ids) |
| `Path` | `{"nodes": [...], "relationships": [...]}` |
| `Date`, `Time`, `DateTime` (and Python's) | ISO-8601 string (nanoseconds kept) |
| `Duration` (and `timedelta`) | ISO-8601 duration string, e.g. `P1M2DT3.5S` |
| spatial `Point` | `{"srid", "x", "y"}` plus `"z"` for 3-D points |
| `bytes` / `bytearray` | base64 string |
| `NaN`, `+-Infinity` | `null` (JSON has no spelling for them) |
| lists, tuples, maps | converted recursively (map keys become strings) |

Secrets never leave through here, as a last line behind the ad-hoc plan check
(`graph/adhoc.py` refuses any plan that can reach a `:Credential` node, where password
hashes live): a `:Credential` node comes out with no properties, a `password_hash` key
(where hashes were kept before) is dropped from every map this module converts (node
and relationship properties, `properties(u)`, `u {.*}`), and any string that looks like
a password hash is replaced by `"[redacted]"`.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
from collections.abc import Mapping
from typing import Any

from neo4j.graph import Node, Path, Relationship
from neo4j.spatial import Point
from neo4j.time import Date, DateTime, Duration, Time

CREDENTIAL_LABEL = "Credential"  # core/passwords.py: the nodes that hold password hashes
SECRET_KEYS = frozenset({"password_hash"})
REDACTED = "[redacted]"
_HASH_PREFIXES = ("$argon2", "$2a$", "$2b$", "$2y$", "$scrypt$", "$pbkdf2")


def _is_secret_string(value: str) -> bool:
    return value.startswith(_HASH_PREFIXES)


def properties(props: Mapping[str, Any]) -> dict[str, Any]:
    """Convert a property map, dropping secret keys."""
    return {str(k): to_jsonable(v) for k, v in props.items() if k not in SECRET_KEYS}


def node(n: Node) -> dict[str, Any]:
    secret = CREDENTIAL_LABEL in n.labels
    return {
        "element_id": n.element_id,
        "labels": sorted(n.labels),
        "properties": {} if secret else properties(dict(n.items())),
    }


def relationship(r: Relationship) -> dict[str, Any]:
    start, end = r.start_node, r.end_node
    return {
        "element_id": r.element_id,
        "type": r.type,
        "start": start.element_id if start is not None else None,
        "end": end.element_id if end is not None else None,
        "properties": properties(dict(r.items())),
    }


def path(p: Path) -> dict[str, Any]:
    return {
        "nodes": [node(n) for n in p.nodes],
        "relationships": [relationship(r) for r in p.relationships],
    }


def point(p: Point) -> dict[str, Any]:
    coords = tuple(p)
    out: dict[str, Any] = {"srid": getattr(p, "srid", None), "x": coords[0], "y": coords[1]}
    if len(coords) > 2:
        out["z"] = coords[2]
    return out


def _timedelta_iso(td: dt.timedelta) -> str:
    return Duration(days=td.days, seconds=td.seconds, microseconds=td.microseconds).iso_format()


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def utc_datetime(epoch_millis: int, nanosecond: int) -> dt.datetime:
    """A UTC instant given as Cypher's `x.epochMillis, x.nanosecond`, as a Python datetime
    (microseconds kept, as the driver's `DateTime.to_native()` keeps them).

    Bulk and hot reads ask Neo4j for these two integers instead of the `DateTime` itself:
    the driver's DateTime hydration (pure Python, pytz) costs about 100 us per value, which
    was most of the time of a whole-graph export. This costs about 2 us.
    """
    # Not `x.epochSeconds`: Neo4j truncates it toward zero, so 1969-12-31T23:59:59.5Z and
    # 1970-01-01T00:00:00.5Z both give 0. Millis floored give the second exactly;
    # `nanosecond` is the fraction of that second (offsets are whole seconds).
    return _EPOCH + dt.timedelta(seconds=epoch_millis // 1000, microseconds=nanosecond // 1000)


def utc_iso(epoch_millis: int | None, nanosecond: int | None) -> str | None:
    """The same instant as an ISO-8601 string in the form `to_jsonable` gives a driver
    `DateTime` in UTC (`2026-10-31T07:16:31.157000000+00:00`, nanoseconds kept)."""
    if epoch_millis is None:
        return None
    ns = nanosecond or 0
    t = utc_datetime(epoch_millis, ns)  # Python's range: years 1-9999
    return (
        f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}"
        f".{ns:09d}+00:00"
    )


def to_jsonable(value: Any) -> Any:
    """Return `value` as JSON-safe Python data (see the module docstring for the mapping)."""
    # Order matters: Node/Relationship are Mappings-like, Point is a tuple, bool is an int.
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return REDACTED if _is_secret_string(value) else value
    if isinstance(value, Node):
        return node(value)
    if isinstance(value, Relationship):
        return relationship(value)
    if isinstance(value, Path):
        return path(value)
    if isinstance(value, Point):
        return point(value)
    if isinstance(value, Duration):
        return value.iso_format()
    if isinstance(value, DateTime | Date | Time):
        return value.iso_format()
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return _timedelta_iso(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return properties(value)
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    # Anything else the driver might add later: a string beats a crash in json.dumps.
    return str(value)


def json_size(value: Any) -> int:
    """Bytes of `value` (already JSON-safe) as compact UTF-8 JSON: what it adds to a response."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return len(text) if text.isascii() else len(text.encode())


def record(keys: list[str], values: list[Any] | tuple[Any, ...]) -> dict[str, Any]:
    """One result row as a JSON-safe dict keyed by column."""
    return {k: to_jsonable(v) for k, v in zip(keys, values, strict=True)}
