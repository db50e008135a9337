"""Opaque pagination cursors: a JSON array of scalars in unpadded urlsafe base64.

A cursor carries the sort key of the last item a page returned (keyset pagination),
usually led by a short tag naming the list it belongs to, e.g.
`("adamic_adar", 0.91, "u42")`. Clients must treat it as opaque; the server treats
it as untrusted input: `decode` raises `core.errors.Invalid` on anything that is
not a cursor this module could have produced, and `expect` checks the shape a
caller needs, so a cursor from another list or a hand-edited one fails loudly
instead of silently paging something else.

`encode_cursor(*values)` / `decode_cursor(cursor, n)` are the positional spellings
used by `graph/pages.py`.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Sequence
from typing import Any

from core.errors import Invalid

Scalar = str | int | float | bool | None

# Far above any real key (a tag, a score, an ISO date, an id), small enough that a
# hostile query string cannot make the server decode megabytes.
MAX_CURSOR_CHARS = 1024
_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")
MALFORMED = "the cursor is malformed; restart from the first page"


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are not JSON and never a valid sort key; json would accept them.
    raise ValueError(f"non-finite number {name}")


def encode(values: Sequence[Scalar]) -> str:
    """Encode a tuple of JSON scalars. Floats round-trip exactly (repr is shortest exact)."""
    for v in values:
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError("a cursor cannot hold NaN or infinity")
        if v is not None and not isinstance(v, str | int | float | bool):
            raise TypeError(f"a cursor holds JSON scalars only, not {type(v).__name__}")
    raw = json.dumps(list(values), separators=(",", ":"), allow_nan=False).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode(cursor: str) -> tuple[Scalar, ...]:
    """Decode a cursor made by `encode`; raise `Invalid` on anything else."""
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
    return tuple(value)


def expect(cursor: str, *types: type) -> tuple[Any, ...]:
    """Decode and check arity and element types (an int is accepted where a float is
    expected, since JSON writes 2.0 as 2 in other encoders; a bool is never a number)."""
    values = decode(cursor)
    if len(values) != len(types):
        raise Invalid(MALFORMED, {"cursor": "wrong shape"})
    out: list[Any] = []
    for v, t in zip(values, types, strict=True):
        if isinstance(v, bool) and t is not bool:
            raise Invalid(MALFORMED, {"cursor": "wrong shape"})
        if t is float and isinstance(v, int):
            v = float(v)
        if not isinstance(v, t):
            raise Invalid(MALFORMED, {"cursor": "wrong shape"})
        out.append(v)
    return tuple(out)


def encode_cursor(*values: Scalar) -> str:
    return encode(values)


def decode_cursor(cursor: str, n: int) -> tuple[Scalar, ...]:
    """Decode a cursor of exactly `n` values (types are the caller's to check)."""
    values = decode(cursor)
    if len(values) != n:
        raise Invalid(MALFORMED, {"cursor": "wrong shape"})
    return values
