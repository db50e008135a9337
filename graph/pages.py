"""Keyset page helpers shared by the data-layer list functions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graph.cursor import decode_cursor, encode_cursor

MAX_LIMIT = 100


def page(
    rows: list[dict[str, Any]], limit: int, keys: Callable[[dict[str, Any]], tuple[Any, ...]]
) -> tuple[list[dict[str, Any]], str | None]:
    """Rows were fetched with limit+1: the extra row only says whether a next page exists."""
    items = rows[:limit]
    next_cursor = encode_cursor(*keys(items[-1])) if len(rows) > limit and items else None
    return items, next_cursor


def time_id_after(cursor: str | None) -> tuple[str | None, str]:
    """Decode a (timestamp ISO, id) cursor, or the start position."""
    if cursor is None:
        return None, ""
    at, id_ = decode_cursor(cursor, 2)
    if not isinstance(at, str) or not isinstance(id_, str):
        from core.errors import Invalid

        raise Invalid("the cursor is malformed; restart from the first page")
    return at, id_


def key_after(cursor: str | None) -> str:
    if cursor is None:
        return ""
    (key,) = decode_cursor(cursor, 1)
    if not isinstance(key, str):
        from core.errors import Invalid

        raise Invalid("the cursor is malformed; restart from the first page")
    return key
