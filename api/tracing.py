"""Tracing: OpenTelemetry spans for each request, Neo4j query and Redis call, exported over
OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set. Off by default.

Off, nothing is installed anywhere: no SDK provider (the global one is never set), FastAPI's
own instrumentation disabled, the Redis client not wrapped, `Graph` without a tracer. On,
one `TracerProvider` per API process, passed explicitly to the three places that make
spans (never set globally, so a test's provider stays its own):

- the request span: FastAPI's built-in OpenTelemetry instrumentation (`FastAPI(telemetry=
  ...)`, the maintained one for this FastAPI; the separate opentelemetry-instrumentation-
  fastapi package would switch it off), named `GET /v1/suggestions`, with the route
  template, status and, from api/observability.py, `socialgraph.request_id`;
- a span per Redis command or pipeline: opentelemetry-instrumentation-redis on our client
  (redislayer/connection.py); arguments are not recorded, only `COMMAND ? ?`;
- a span per catalog query: graph/db.py (`db.query.summary` = the query's name; no text
  or parameters).

A request's Neo4j and Redis spans are children of its request span: one trace per request,
sampled by TRACING_SAMPLE_RATIO (of new traces; a caller's sampled `traceparent` is kept).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi.telemetry import TelemetryConfig

from core.config import Settings

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

SERVICE_NAME = "socialgraph"


def provider_from(settings: Settings) -> TracerProvider | None:
    """The process's provider with the OTLP exporter, or None when tracing is off."""
    if not settings.otel_endpoint:
        return None
    # Imported only when on: the SDK and exporter cost nothing to a service that is off.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    provider = SdkTracerProvider(
        # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, when set, win over the default.
        resource=Resource.create({"service.name": SERVICE_NAME}),
        sampler=ParentBased(TraceIdRatioBased(settings.tracing_sample_ratio)),
    )
    endpoint = settings.otel_endpoint.rstrip("/") + "/v1/traces"
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider


def fastapi_telemetry(provider: TracerProvider | None) -> TelemetryConfig:
    """FastAPI's `telemetry=`: request spans on our provider only; its metrics and logs off
    (Prometheus and our JSON lines do those), and no spans per dependency or serialization."""
    return {
        "tracer_provider": provider,
        "tracing": provider is not None,
        "metrics": False,
        "logs": False,
        "operation_spans": False,
        "auto_configure": False,
    }


def shutdown(provider: TracerProvider | None) -> None:
    """Flush and stop the exporter (the SDK provider's `shutdown`)."""
    stop = getattr(provider, "shutdown", None)
    if stop is not None:
        stop()
