"""Prometheus metrics, served at /metrics.

One process (tests, `uvicorn` run by hand, `socialgraph serve --workers 1`): the default
registry. Several workers: `socialgraph serve` points PROMETHEUS_MULTIPROC_DIR at a fresh
directory before they start, each worker writes its values to files there, and /metrics
adds up every worker's (`exposition()`), so a counter is the service's total whichever
worker answers the scrape. Gauges say how to combine workers (`multiprocess_mode`).
"""

from __future__ import annotations

import os

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> str | None:
    """The directory the workers share, or None in single-process mode. prometheus_client
    reads it once, at import: it must be set before the process imports it."""
    return os.environ.get(MULTIPROC_ENV) or None


def exposition() -> bytes:
    """The text /metrics serves: every worker's values when several share a directory."""
    if multiprocess_dir() is None:
        return generate_latest()
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def mark_process_dead(pid: int) -> None:
    """Drop a stopped worker's live gauges (its counters stay in the totals)."""
    if multiprocess_dir() is not None:
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


REQUEST_LATENCY = Histogram(
    "sg_http_request_seconds",
    "HTTP request latency by route template",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5),
)
CACHE = Counter(
    "sg_cache_total", "Cache lookups by kind and outcome (hit, miss, fallback)", ["kind", "outcome"]
)
COMPUTE = Counter("sg_cache_compute_total", "Neo4j computations behind the cache", ["kind"])
NEGATIVE = Counter(
    "sg_negative_cache_total",
    "Unknown-id lookups answered by the negative cache",
    ["kind", "outcome"],
)
INBOX_SENDS = Counter("sg_inbox_sends_total", "Message sends by outcome", ["outcome"])
WS_CONNECTIONS = Gauge(
    "sg_ws_connections", "Open WebSocket connections (all workers)", multiprocess_mode="livesum"
)
WS_EVENTS = Counter("sg_ws_events_total", "Events pushed to WebSockets")
WS_SLOW_CONSUMERS = Counter(
    "sg_ws_slow_consumers_total", "WebSockets closed with 4008 (queue full past the grace)"
)
DEP_ERRORS = Counter("sg_dependency_errors_total", "Neo4j and Redis errors", ["dependency"])
RATE_LIMITED = Counter("sg_rate_limited_total", "Requests refused by a rate limit", ["action"])
