"""graph.serialize on values built in Python (the Neo4j-returned ones are in test_adhoc)."""

from __future__ import annotations

import datetime as dt
import json

from neo4j.spatial import CartesianPoint, WGS84Point
from neo4j.time import Date, DateTime, Duration, Time

from graph.serialize import REDACTED, to_jsonable


def test_scalars_and_containers() -> None:
    value = {
        "nan": float("nan"), "inf": float("inf"), "ok": 1.5, "n": 3, "b": True, "none": None,
        "bytes": b"\x00\xff", "tuple": (1, "a"), "set": {2}, 7: "int key",
        "nested": [{"password_hash": "x", "keep": [dt.date(2024, 1, 2)]}],
    }  # fmt: skip
    out = to_jsonable(value)
    assert out == {
        "nan": None, "inf": None, "ok": 1.5, "n": 3, "b": True, "none": None,
        "bytes": "AP8=", "tuple": [1, "a"], "set": [2], "7": "int key",
        "nested": [{"keep": ["2024-01-02"]}],
    }  # fmt: skip
    json.dumps(out, allow_nan=False)


def test_temporal_and_spatial() -> None:
    assert to_jsonable(DateTime(2024, 1, 2, 3, 4, 5, 123456789, tzinfo=dt.UTC)) == (
        "2024-01-02T03:04:05.123456789+00:00"
    )
    assert to_jsonable(Date(2024, 2, 29)) == "2024-02-29"
    assert to_jsonable(Time(10, 11, 12)) == "10:11:12.000000000"
    assert to_jsonable(Duration(months=14, days=3, seconds=5, nanoseconds=500_000_000)) == (
        "P1Y2M3DT5.5S"
    )
    assert to_jsonable(dt.datetime(2024, 1, 2, 3, 4, tzinfo=dt.UTC)) == "2024-01-02T03:04:00+00:00"
    assert to_jsonable(dt.timedelta(days=1, seconds=2)) == "P1DT2S"
    assert to_jsonable(CartesianPoint((1.0, 2.0))) == {"srid": 7203, "x": 1.0, "y": 2.0}
    assert to_jsonable(WGS84Point((13.4, 52.5, 30.0))) == {
        "srid": 4979, "x": 13.4, "y": 52.5, "z": 30.0,
    }  # fmt: skip


def test_hash_shaped_strings_are_redacted() -> None:
    assert to_jsonable(["$argon2id$v=19$m=65536,t=3,p=4$abc$def", "$5 coffee"]) == [
        REDACTED,
        "$5 coffee",
    ]
