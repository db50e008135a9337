"""A concurrency budget: at most N holders at once in this process, and at most M per key.

The analysts' endpoints take a slot per query (`api/routes/analytics.py`), so their
expensive queries hold at most `ANALYST_MAX_CONCURRENT` pooled Neo4j connections, fewer
than the pool, and ordinary requests always find one. A caller past either limit is
refused at once with `RateLimited` (429 and Retry-After), not queued: a queue would only
hold the HTTP request open for work that has not started, and the analyst's client
decides better whether to wait.

Single event loop, no awaits between the check and the count, so no lock is needed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from core.errors import RateLimited


class ConcurrencyBudget:
    def __init__(self, total: int, per_key: int, *, what: str, retry_after: int = 1) -> None:
        if total < 1 or per_key < 1:
            raise ValueError("a budget needs at least one slot in total and per key")
        self.total = total
        self.per_key = per_key
        self.what = what  # "analyst queries": names the work in the refusal
        self.retry_after = retry_after
        self._held: Counter[str] = Counter()
        self._active = 0

    @property
    def active(self) -> int:
        return self._active

    @contextmanager
    def slot(self, key: str) -> Iterator[None]:
        """Hold one slot for `key` for the body, or raise `RateLimited` now."""
        if self._held[key] >= self.per_key:
            raise RateLimited(
                f"you already have {self.per_key} {self.what} running; wait for one to finish",
                self.retry_after,
                {"scope": "analyst", "limit": self.per_key},
            )
        if self._active >= self.total:
            raise RateLimited(
                f"{self.total} {self.what} are already running on this server; retry in a moment",
                self.retry_after,
                {"scope": "all", "limit": self.total},
            )
        self._held[key] += 1
        self._active += 1
        try:
            yield
        finally:
            self._active -= 1
            self._held[key] -= 1
            if not self._held[key]:
                del self._held[key]
