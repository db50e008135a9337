"""Prometheus metrics, served at /metrics. One registry per process."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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
WS_CONNECTIONS = Gauge("sg_ws_connections", "Open WebSocket connections in this process")
WS_EVENTS = Counter("sg_ws_events_total", "Events pushed to WebSockets")
WS_SLOW_CONSUMERS = Counter(
    "sg_ws_slow_consumers_total", "WebSockets closed with 4008 (queue full past the grace)"
)
DEP_ERRORS = Counter("sg_dependency_errors_total", "Neo4j and Redis errors", ["dependency"])
RATE_LIMITED = Counter("sg_rate_limited_total", "Requests refused by a rate limit", ["action"])
