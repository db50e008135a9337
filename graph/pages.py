"""Keyset page helpers shared by the data-layer list functions (cursor format:
`core/paging.py`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core import paging


def page(
    rows: list[dict[str, Any]],
    limit: int,
    tag: str,
    keys: Callable[[dict[str, Any]], tuple[paging.Scalar, ...]],
) -> tuple[list[dict[str, Any]], str | None]:
    """Rows were fetched with limit+1: the extra row only says whether a next page exists.
    The next cursor is `[tag, *keys(last item)]`."""
    items = rows[:limit]
    next_cursor = paging.encode((tag, *keys(items[-1]))) if len(rows) > limit and items else None
    return items, next_cursor


def time_id_after(cursor: str | None, tag: str) -> tuple[str | None, str]:
    """The (timestamp ISO, id) position of a cursor of list `tag`, or the start position."""
    after = paging.expect(cursor, tag, str, str)
    return (None, "") if after is None else (after[1], after[2])


def key_after(cursor: str | None, tag: str) -> str:
    """The sort-key position of a cursor of list `tag`, or the start position."""
    after = paging.expect(cursor, tag, str)
    return "" if after is None else str(after[1])
