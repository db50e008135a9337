"""App factory. The lifespan opens the async Neo4j driver and the Redis pool once,
applies the schema migration, and closes both on shutdown."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from opentelemetry.trace import TracerProvider

from api import errors, openapi, tracing
from api.cors import add_cors
from api.docs import install_docs
from api.middleware import BodySizeLimit, SecurityHeaders
from api.observability import RequestContext
from api.observability import router as metrics_router
from api.routes import (
    analytics,
    auth,
    friends,
    health,
    messages,
    posts,
    recommend,
    users,
    ws,
)
from core.config import Settings, get_settings
from graph.db import Graph, open_async_driver
from graph.queries import catalog
from graph.schema import migrate
from redislayer.bookmarks import BookmarkStore
from redislayer.cache import Cache
from redislayer.connection import open_redis
from redislayer.inbox import Durability, Inbox
from redislayer.realtime import Hub

log = logging.getLogger("socialgraph.api")


def create_app(
    settings: Settings | None = None, *, tracer_provider: TracerProvider | None = None
) -> FastAPI:
    """`tracer_provider`: spans go there (a test's in-memory exporter); by default the
    OTLP exporter when OTEL_EXPORTER_OTLP_ENDPOINT is set, else no tracing (api/tracing.py)."""
    settings = settings or get_settings()
    catalog()  # a malformed query file fails here, at startup, naming the file
    provider = tracer_provider or tracing.provider_from(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        driver = await open_async_driver(settings)
        redis = open_redis(settings, provider)
        try:
            await migrate(driver, settings.neo4j_database)
            app.state.settings = settings
            app.state.graph = Graph(
                driver,
                settings.neo4j_database,
                settings.neo4j_query_timeout,
                wait_bound=settings.neo4j_connect_timeout * 2,
                tracer=provider.get_tracer("socialgraph.graph") if provider else None,
                # Each user's reads start from their last write, on any API process.
                bookmarks=BookmarkStore(redis, settings.neo4j_bookmark_ttl),
            )
            app.state.redis = redis
            app.state.cache = Cache(redis)
            app.state.inbox = Inbox(redis, Durability.from_settings(settings))
            app.state.hub = Hub(redis)
            app.state.hub.start()
            yield
        finally:
            if hasattr(app.state, "hub"):
                await app.state.hub.stop()
            await app.state.cache.close()
            await redis.aclose()
            await driver.close()
            if tracer_provider is None:  # ours: flush what is left to the collector
                tracing.shutdown(provider)

    app = FastAPI(
        title="socialgraph",
        version="0.1.0",
        description=openapi.DESCRIPTION,
        openapi_tags=openapi.TAGS,
        generate_unique_id_function=openapi.operation_id_for,
        lifespan=lifespan,
        telemetry=tracing.fastapi_telemetry(provider),  # request spans (api/tracing.py)
        docs_url=None,  # /docs and /redoc without a CDN: api/docs.py
        redoc_url=None,
    )
    app.state.settings = settings
    errors.install(app)
    openapi.install(app)  # X-Request-ID on every response; Body_* schemas described
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    add_cors(app, settings.cors_origins)  # CORS_ORIGINS; outside the 413 (api/cors.py)
    app.add_middleware(SecurityHeaders)  # around the 413 too
    # Outermost: sees every response, even a 413; the request id on the request span.
    app.add_middleware(RequestContext, tracing=provider is not None)

    # Documented on every operation: the body limit, validation, and a dependency being down.
    v1 = APIRouter(prefix="/v1", responses=errors.responses(413, 422, 503))
    # Routes are matched in order, one regex each: the most requested come first (matching
    # ~40 routes was a tenth of a cached request's CPU). Where two routers share a path the
    # methods differ, and Starlette keeps looking for the route that matches both.
    for module in (recommend, messages, posts, friends, users, ws):
        v1.include_router(module.router, responses=errors.responses(401))
    v1.include_router(auth.router)  # mixed: documents 401 per route
    v1.include_router(analytics.router, responses=errors.responses(401, 403))
    app.include_router(v1)
    app.include_router(health.router)
    app.include_router(metrics_router)
    install_docs(app)
    return app


def app_factory() -> FastAPI:
    """For `uvicorn --factory api.main:app_factory` (several workers)."""
    return create_app()
