"""Tracing (api/tracing.py): one trace per request, its root the request span (with the
request id), its Neo4j query and Redis command spans below it; OTLP/HTTP export when an
endpoint is set, with the sampling ratio; nothing at all by default."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from api import tracing
from api.main import create_app
from core.config import Settings
from seeds import bulk
from tests.factories import graph_users


def ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[ReadableSpan]:
    out = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        out.append(span)
    return out


async def test_a_request_is_one_trace_with_its_neo4j_and_redis_spans(
    neo: Any, settings: Settings
) -> None:
    viewer, friend, fof = graph_users(neo, settings, 3, prefix="tr")
    # viewer - friend - fof: one suggestion, computed by Neo4j (cold cache).
    bulk.friendships(neo, [{"a": viewer.id, "b": friend.id}, {"a": friend.id, "b": fof.id}])
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = create_app(settings, tracer_provider=provider)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            exporter.clear()  # startup's own calls
            r = await c.get("/v1/suggestions", headers=viewer.headers)
    assert r.status_code == 200, r.text
    assert [s["user"]["id"] for s in r.json()["items"]] == [fof.id]
    request_id = r.headers["x-request-id"]

    spans = exporter.get_finished_spans()
    servers = [s for s in spans if s.kind == SpanKind.SERVER]
    assert len(servers) == 1, [s.name for s in spans]
    (root,) = servers
    assert root.parent is None and root.name == "GET /v1/suggestions"
    attrs = dict(root.attributes or {})
    assert attrs["socialgraph.request_id"] == request_id
    assert attrs["http.route"] == "/v1/suggestions"
    assert attrs["http.response.status_code"] == 200

    trace_id = root.context.trace_id
    by_id = {s.context.span_id: s for s in spans if s.context.trace_id == trace_id}
    neo4j = [s for s in by_id.values() if (s.attributes or {}).get("db.system.name") == "neo4j"]
    redis = [
        s
        for s in by_id.values()
        if "redis"
        in ((s.attributes or {}).get("db.system"), (s.attributes or {}).get("db.system.name"))
    ]
    names = sorted(s.name for s in neo4j)
    assert any(n.startswith("recommend.") for n in names), names  # the suggestion query
    assert any(n.startswith("users.") for n in names), names  # the principal, cold
    assert redis, [s.name for s in by_id.values()]
    for span in neo4j + redis:
        assert span.kind == SpanKind.CLIENT
        assert ancestors(span, by_id)[-1] is root, span.name
    for span in neo4j:
        assert set(span.attributes or {}) == {"db.system.name", "db.namespace", "db.query.summary"}
    # Every Neo4j span of the request is in its trace (no stray root of its own).
    assert {s.context.trace_id for s in spans if s.name in names} == {trace_id}


def test_tracing_is_off_by_default(settings: Settings) -> None:
    assert settings.otel_endpoint is None
    assert tracing.provider_from(settings) is None
    app = create_app(settings)
    context = [
        m.kwargs for m in app.user_middleware if getattr(m.cls, "__name__", "") == "RequestContext"
    ]
    assert context == [{"tracing": False}]
    # Nothing installed globally: the provider is still the proxy of "not configured".
    assert type(trace.get_tracer_provider()).__name__ == "ProxyTracerProvider"


class Collector(BaseHTTPRequestHandler):
    """An OTLP/HTTP receiver that keeps what it is sent."""

    received: list[tuple[str, str, int]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.received.append((self.path, self.headers["content-type"], len(body)))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[str]:
    Collector.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("ratio", "exported"), [(1.0, True), (0.0, False)])
def test_spans_are_exported_over_otlp_http_as_sampled(
    collector: str, ratio: float, exported: bool
) -> None:
    provider = tracing.provider_from(
        Settings(OTEL_EXPORTER_OTLP_ENDPOINT=collector, TRACING_SAMPLE_RATIO=ratio)
    )
    assert provider is not None
    with provider.get_tracer("t").start_as_current_span("work"):
        pass
    tracing.shutdown(provider)  # flushes
    if exported:
        assert Collector.received == [
            ("/v1/traces", "application/x-protobuf", Collector.received[0][2])
        ]
        assert Collector.received[0][2] > 0
    else:
        assert Collector.received == []
