"""Waiting in tests: poll what the test waits for against a deadline, never sleep a guess.

A sleep sized for a fast machine flakes on a loaded one and wastes time on every other run;
a poll returns as soon as the condition holds and waits up to the deadline when it does not.
Both helpers return instead of raising at the deadline, so the caller's own assertion fails
with the values it saw.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def poll(
    fetch: Callable[[], Awaitable[T]],
    until: Callable[[T], bool],
    *,
    timeout: float,
    interval: float = 0.05,
) -> T:
    """Call `fetch` until `until(value)` holds or `timeout` seconds have passed; return the
    last value either way."""
    deadline = time.monotonic() + timeout
    while True:
        value = await fetch()
        if until(value) or time.monotonic() >= deadline:
            return value
        await asyncio.sleep(interval)


async def wait_until(
    predicate: Callable[[], bool], *, timeout: float, interval: float = 0.05
) -> bool:
    """Whether `predicate()` came true within `timeout` seconds (checked every `interval`)."""

    async def check() -> bool:
        return predicate()

    return await poll(check, bool, timeout=timeout, interval=interval)
