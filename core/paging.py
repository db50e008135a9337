"""Paged lists: the page-size limit and the one cursor format, for every list the service
serves (Neo4j lists in `graph/`, the conversation list in `redislayer/`).

A cursor is the unpadded urlsafe base64 of a JSON array `[tag, *keys]`: the keys are the
sort key of the last item a page returned (keyset pagination), and the tag names the list
and its order, spelled `<module>.<list>` by the module that owns the list (so two lists
cannot share one), e.g. `["recommend.adamic_adar", 0.91, "u42"]` or
`["friends.blocks", "2026-01-02T03:04:05.123456+00:00", "u7"]`.

Clients must treat a cursor as opaque; the server treats it as untrusted input:
`expect` raises `core.errors.Invalid` (400, `MALFORMED`) on anything that is not a
cursor of the expected list and shape, so a cursor from another list, another order
or a hand-edited one fails loudly instead of silently paging something else.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Sequence
from typing import Any, overload

from core.errors import Invalid

# The largest page any list serves (HTTP `limit` parameters, data-layer checks).
MAX_LIMIT = 100

Scalar = str | int | float | bool | None

# Far above any real key (a tag, a score, an ISO date, an id), small enough that a
# hostile query string cannot make the server decode megabytes.
MAX_CURSOR_CHARS = 1024
_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")
MALFORMED = "the cursor is malformed; restart from the first page"
# Neo4j integers are signed 64-bit.
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1


def check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_LIMIT}", {"limit": limit})


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are not JSON and never a valid sort key; json would accept them.
    raise ValueError(f"non-finite number {name}")


def encode(values: Sequence[Scalar]) -> str:
    """The cursor holding `values`, which are `(tag, *keys)` for a list's cursor. Floats
    round-trip exactly (repr is shortest exact)."""
    for v in values:
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError("a cursor cannot hold NaN or infinity")
        if v is not None and not isinstance(v, str | int | float | bool):
            raise TypeError(f"a cursor holds JSON scalars only, not {type(v).__name__}")
    raw = json.dumps(list(values), separators=(",", ":"), allow_nan=False).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode(cursor: str) -> tuple[Scalar, ...]:
    """The values of a cursor made by `encode`, unchecked; raise `Invalid` on anything else.
    Lists read their cursors with `expect`."""
    if not cursor or len(cursor) > MAX_CURSOR_CHARS:
        raise Invalid(MALFORMED, {"cursor": "bad length"})
    if not _ALPHABET.fullmatch(cursor):  # unpadded urlsafe base64 only
        raise Invalid(MALFORMED, {"cursor": "not a cursor"})
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.b64decode(padded, altchars=b"-_", validate=True)
        value = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise Invalid(MALFORMED, {"cursor": "not a cursor"}) from exc
    if not isinstance(value, list) or not all(
        v is None or isinstance(v, str | int | float | bool) for v in value
    ):
        raise Invalid(MALFORMED, {"cursor": "not a list of scalars"})
    for v in value:
        # A forged key Neo4j cannot hold (an integer past 64 bits, or one too large to be a
        # float score; a literal like 1e400 parses as infinity) was a 500 at query time.
        if isinstance(v, int) and not isinstance(v, bool) and not _INT_MIN <= v <= _INT_MAX:
            raise Invalid(MALFORMED, {"cursor": "number out of range"})
        if isinstance(v, float) and not math.isfinite(v):
            raise Invalid(MALFORMED, {"cursor": "number out of range"})
    return tuple(value)


@overload
def expect(cursor: str, *shape: type | str) -> tuple[Any, ...]: ...
@overload
def expect(cursor: None, *shape: type | str) -> None: ...
@overload
def expect(cursor: str | None, *shape: type | str) -> tuple[Any, ...] | None: ...
def expect(cursor: str | None, *shape: type | str) -> tuple[Any, ...] | None:
    """Decode a cursor and check it against `shape`, one entry per value: a string is a tag
    the value must equal, a type is the type the value must have (an int is accepted where
    a float is expected, since other JSON encoders write 2.0 as 2; a bool is never a
    number). Returns every value, tag included; None for None (the first page).

        _, after_score, after_id = expect(cursor, "recommend.jaccard", float, str)
    """
    if cursor is None:
        return None
    values = decode(cursor)
    if len(values) != len(shape):
        raise Invalid(MALFORMED, {"cursor": "wrong shape"})
    out: list[Any] = []
    for v, want in zip(values, shape, strict=True):
        if isinstance(want, str):
            if v != want:
                raise Invalid(MALFORMED, {"cursor": "from another list"})
        elif isinstance(v, bool) and want is not bool:
            raise Invalid(MALFORMED, {"cursor": "wrong shape"})
        elif want is float and isinstance(v, int):
            v = float(v)
        elif not isinstance(v, want):
            raise Invalid(MALFORMED, {"cursor": "wrong shape"})
        out.append(v)
    return tuple(out)
