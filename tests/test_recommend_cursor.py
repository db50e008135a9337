"""core/paging.py (cursors): exact round trips; anything that is not a cursor raises Invalid."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import paging as cursor
from core.errors import Invalid

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
)


def raw(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


@given(st.lists(scalars, max_size=5))
def test_round_trip_is_exact(values: list[object]) -> None:
    token = cursor.encode(values)  # type: ignore[arg-type]
    assert token.isascii() and "=" not in token and "+" not in token and "/" not in token
    assert cursor.decode(token) == tuple(values)


def test_float_keys_round_trip_bit_for_bit() -> None:
    for x in (0.1 + 0.2, 1 / 3, 2.0, 1e-300, 5e-324, 1.7976931348623157e308):
        (y,) = cursor.decode(cursor.encode((x,)))
        assert y == x and type(y) is float


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "!!!",
        "a",
        "abc$",
        raw("not json"),
        raw('{"a": 1}'),
        raw("[[1]]"),
        raw('[{"a":1}]'),
        raw("[NaN]"),
        raw("[Infinity]"),
        raw("[1]") + "=====",
        "x" * 2000,
        base64.urlsafe_b64encode(b"\xff\xfe[1]").decode(),
    ],
)
def test_garbage_is_invalid(bad: str) -> None:
    with pytest.raises(Invalid):
        cursor.decode(bad)


def test_expect_checks_shape_and_types() -> None:
    token = cursor.encode(("adamic_adar", 1.5, "u1"))
    assert cursor.expect(token, str, float, str) == ("adamic_adar", 1.5, "u1")
    # An integral score written by another JSON encoder is still a float key.
    assert cursor.expect(raw(json.dumps(["x", 2, "u"])), str, float, str) == ("x", 2.0, "u")
    for types in [(str, float), (str, float, str, str), (str, str, str), (int, float, str)]:
        with pytest.raises(Invalid):
            cursor.expect(token, *types)
    with pytest.raises(Invalid):  # a bool is not a number
        cursor.expect(cursor.encode(("x", True, "u")), str, float, str)


def test_positional_round_trip_and_arity() -> None:
    # Was a test of the positional helpers (encode_cursor/decode_cursor), which the one
    # tagged format replaced; the same round trip and arity check, through `expect`.
    token = cursor.encode(("posts.list", "2024-01-01T00:00:00Z", "p1"))
    assert cursor.expect(token, "posts.list", str, str) == (
        "posts.list",
        "2024-01-01T00:00:00Z",
        "p1",
    )
    with pytest.raises(Invalid):
        cursor.expect(token, "posts.list", str)


def test_encode_refuses_non_scalars() -> None:
    with pytest.raises(ValueError):
        cursor.encode((float("nan"),))
    with pytest.raises(TypeError):
        cursor.encode(([1],))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "values",
    [
        ["recommend.adamic_adar", 10**309, "x"],  # int beyond float: OverflowError was a 500
        ["recommend.adamic_adar", 2**63, "x"],  # beyond Neo4j's 64-bit integers
        ["recommend.cold_start", -(2**63) - 1, 1.0, "x"],
    ],
)
def test_integers_out_of_neo4j_range_are_malformed(values: list[object]) -> None:
    raw = json.dumps(values, separators=(",", ":")).encode()
    token = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    with pytest.raises(Invalid, match="malformed"):
        cursor.expect(token, str(values[0]), *[type(v) for v in values[1:]])
    with pytest.raises(Invalid, match="malformed"):
        cursor.expect(token, str(values[0]), *([float] * (len(values) - 2)), str)


def test_a_float_that_overflows_to_infinity_is_malformed() -> None:
    token = base64.urlsafe_b64encode(b'["feed.top","t",1e400,"p"]').rstrip(b"=").decode()
    with pytest.raises(Invalid, match="malformed"):
        cursor.expect(token, "feed.top", str, float, str)


def test_the_64_bit_edges_still_round_trip() -> None:
    for n in (2**63 - 1, -(2**63)):
        assert cursor.expect(cursor.encode(("t", n)), "t", int) == ("t", n)
