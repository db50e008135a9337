"""One settings class for the whole service, read from the environment.

With nothing set, every value points at the local stack that `socialgraph dev up`
starts, so a newcomer never has to export anything. Outside development and test,
placeholder secrets are refused at startup instead of silently used.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The checkout, when the code runs from its sources (an installed wheel has no pyproject.toml
# beside its packages). Only defaults use it; nothing reads files through it.
_SOURCE_ROOT = Path(__file__).resolve().parent.parent
_IN_CHECKOUT = (_SOURCE_ROOT / "pyproject.toml").is_file()

# Placeholders that are fine on a laptop and fatal in production.
DEV_NEO4J_PASSWORD = "socialgraph-local-dev"  # noqa: S105 - local stack only
DEV_JWT_SECRET = "dev-only-jwt-secret-change-me-0123456789abcdef"  # noqa: S105
DEV_PASSWORD_PEPPER = "dev-only-password-pepper-change-me-0123456789"  # noqa: S105

NEO4J_VERSION = "5.26.30"
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    env: Literal["development", "test", "production"] = Field(
        "development", validation_alias="SOCIALGRAPH_ENV"
    )

    neo4j_uri: str = Field("bolt://127.0.0.1:7687", validation_alias="NEO4J_URI")
    neo4j_user: str = Field("neo4j", validation_alias="NEO4J_USER")
    neo4j_password: str = Field(DEV_NEO4J_PASSWORD, validation_alias="NEO4J_PASSWORD")
    neo4j_database: str = Field("neo4j", validation_alias="NEO4J_DATABASE")
    # Seconds; every driver call is bounded so a stuck server cannot hang a request.
    neo4j_connect_timeout: float = Field(5.0, validation_alias="NEO4J_CONNECT_TIMEOUT")
    neo4j_query_timeout: float = Field(10.0, validation_alias="NEO4J_QUERY_TIMEOUT")
    neo4j_pool_size: int = Field(50, validation_alias="NEO4J_POOL_SIZE")
    # Read-your-own-writes across API processes (redislayer/bookmarks.py, docs/routing.md):
    # after a user's write, the driver's bookmark is kept this many seconds (in Redis, per
    # user), and that user's reads wait for it on whichever server and API process serve them.
    neo4j_bookmark_ttl: float = Field(30.0, gt=0, le=3600, validation_alias="NEO4J_BOOKMARK_TTL")
    # Analysts' queries (docs/analysis.md, "Limits"): at most this many at once per API
    # process (each holds one pooled connection, so fewer than NEO4J_POOL_SIZE leaves users
    # theirs) and per analyst; more get 429. A result over the byte cap gets 400.
    analyst_max_concurrent: int = Field(4, ge=1, validation_alias="ANALYST_MAX_CONCURRENT")
    analyst_max_per_user: int = Field(2, ge=1, validation_alias="ANALYST_MAX_PER_USER")
    analyst_max_result_bytes: int = Field(
        16 * 1024 * 1024, ge=1024, validation_alias="ANALYST_MAX_RESULT_BYTES"
    )

    redis_url: str = Field("redis://127.0.0.1:6379/0", validation_alias="REDIS_URL")
    redis_timeout: float = Field(0.5, validation_alias="REDIS_TIMEOUT")
    redis_appendfsync: Literal["always", "everysec", "no"] = Field(
        "everysec", validation_alias="REDIS_APPENDFSYNC"
    )
    # Redis Cluster, off by default. With REDIS_CLUSTER set, the service uses a cluster
    # instead of the server at REDIS_URL (redislayer/connection.py): the one reached at
    # REDIS_CLUSTER_URL (any node: the client discovers the others), by default the local
    # cluster's first node, redis://<REDIS_URL's host>:<REDIS_CLUSTER_PORT>/0. The local
    # cluster (socialgraph/devstack/redis_cluster.py) is 3 primaries and 3 replicas on
    # REDIS_CLUSTER_PORT..+5 (cluster buses on those + 10000), started by `dev up` beside
    # the single server; the node timeout is how long a primary may be unreachable before
    # its replica takes over (tests use 1000).
    redis_cluster: bool = Field(False, validation_alias="REDIS_CLUSTER")
    redis_cluster_port: int = Field(7000, ge=1024, le=55530, validation_alias="REDIS_CLUSTER_PORT")
    redis_cluster_url: str | None = Field(None, validation_alias="REDIS_CLUSTER_URL")
    redis_cluster_node_timeout_ms: int = Field(
        5000, ge=100, validation_alias="REDIS_CLUSTER_NODE_TIMEOUT_MS"
    )

    # Durable sends (redislayer/inbox.py, docs/scaling.md "Failover"): with this on, a
    # message is acknowledged only after REDIS_DURABLE_REPLICAS replicas of the primary that
    # holds its conversation have it (`WAIT`, at most REDIS_DURABLE_TIMEOUT_MS); a send no
    # replica confirmed in time gets 503, and its retry with the same Idempotency-Key is safe.
    redis_durable_sends: bool = Field(False, validation_alias="REDIS_DURABLE_SENDS")
    redis_durable_replicas: int = Field(1, ge=1, validation_alias="REDIS_DURABLE_REPLICAS")
    redis_durable_timeout_ms: int = Field(
        250, ge=10, le=10_000, validation_alias="REDIS_DURABLE_TIMEOUT_MS"
    )

    jwt_secret: str = Field(DEV_JWT_SECRET, validation_alias="JWT_SECRET")
    jwt_issuer: str = Field("socialgraph", validation_alias="JWT_ISSUER")
    jwt_audience: str = Field("socialgraph-api", validation_alias="JWT_AUDIENCE")
    access_token_minutes: int = Field(15, validation_alias="ACCESS_TOKEN_MINUTES")
    refresh_token_days: int = Field(14, validation_alias="REFRESH_TOKEN_DAYS")
    # Password peppers (core/passwords.py): key id -> secret, JSON in the environment, e.g.
    # PASSWORD_PEPPERS='{"2026-01": "<48 random chars>"}'. New hashes use PASSWORD_PEPPER_ID;
    # the other keys only verify older hashes (rehashed at their next login). Rotation:
    # docs/hardening.md, "Credentials".
    password_peppers: dict[str, str] = Field(
        default_factory=lambda: {"dev": DEV_PASSWORD_PEPPER},
        validation_alias="PASSWORD_PEPPERS",
    )
    password_pepper_id: str = Field("dev", validation_alias="PASSWORD_PEPPER_ID")

    login_rate_per_minute: int = Field(10, validation_alias="LOGIN_RATE_PER_MINUTE")
    # Per client IP across handles (a password spray), and registrations per client IP.
    # A person never gets near them; a shared NAT may: raise them there (docs/hardening.md).
    login_rate_per_ip_per_minute: int = Field(20, validation_alias="LOGIN_RATE_PER_IP_PER_MINUTE")
    register_rate_per_ip_per_hour: int = Field(10, validation_alias="REGISTER_RATE_PER_IP_PER_HOUR")
    send_rate_per_10s: int = Field(50, validation_alias="SEND_RATE_PER_10S")
    # Retention (docs/inbox.md): each conversation keeps its newest N messages, trimmed on
    # every send; an account's deletion erases its messages at once.
    messages_per_conversation: int = Field(
        10_000, ge=1, validation_alias="MESSAGES_PER_CONVERSATION"
    )
    ws_queue_size: int = Field(256, validation_alias="WS_QUEUE_SIZE")
    ws_max_frame_bytes: int = Field(4096, validation_alias="WS_MAX_FRAME_BYTES")
    ws_frames_per_second: int = Field(10, validation_alias="WS_FRAMES_PER_SECOND")
    ws_heartbeat_seconds: float = Field(20.0, validation_alias="WS_HEARTBEAT_SECONDS")
    max_body_bytes: int = Field(64 * 1024, validation_alias="MAX_BODY_BYTES")
    # /metrics answers only `Authorization: Bearer <METRICS_TOKEN>` when set; production
    # refuses to start without one (development and test leave /metrics open when unset).
    metrics_token: str | None = Field(None, validation_alias="METRICS_TOKEN")
    # Browser origins allowed to call the API from other sites (api/cors.py), a JSON list:
    # CORS_ORIGINS='["https://app.example.com"]'. Exact origins only: credentials are allowed.
    cors_origins: list[str] = Field(default_factory=list, validation_alias="CORS_ORIGINS")
    # Tracing (api/tracing.py): off unless an OTLP/HTTP collector is set, e.g.
    # OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318 (spans go to <that>/v1/traces), with
    # the share of new traces kept.
    otel_endpoint: str | None = Field(None, validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT")
    tracing_sample_ratio: float = Field(
        1.0, ge=0.0, le=1.0, validation_alias="TRACING_SAMPLE_RATIO"
    )
    ws_allowed_origins: list[str] = Field(
        default_factory=lambda: ["http://localhost:8000", "http://127.0.0.1:8000"],
        validation_alias="WS_ALLOWED_ORIGINS",
    )

    # Where the local stack keeps data, logs and pid files.
    # Default: `.state/dev` under the working directory (the repository root under `make`).
    state_dir: Path = Field(
        default_factory=lambda: Path.cwd() / ".state" / "dev",
        validation_alias="SOCIALGRAPH_STATE_DIR",
    )
    # Where the Neo4j jars are cached (outside the repository: 120+ MB).
    cache_dir: Path = Field(
        Path.home() / ".cache" / "socialgraph", validation_alias="SOCIALGRAPH_CACHE_DIR"
    )
    neo4j_heap: str = Field("512m", validation_alias="NEO4J_HEAP")
    neo4j_pagecache: str = Field("512m", validation_alias="NEO4J_PAGECACHE")

    @model_validator(mode="after")
    def _refuse_placeholders_in_production(self) -> Settings:
        if self.analyst_max_concurrent >= self.neo4j_pool_size:
            raise ValueError(
                f"ANALYST_MAX_CONCURRENT ({self.analyst_max_concurrent}) must be below "
                f"NEO4J_POOL_SIZE ({self.neo4j_pool_size}), or analysts can hold every "
                "connection"
            )
        if self.redis_durable_sends and self.redis_durable_timeout_ms >= self.redis_timeout * 1000:
            # WAIT's reply comes after up to its timeout, and REDIS_TIMEOUT bounds every read.
            raise ValueError(
                f"REDIS_DURABLE_TIMEOUT_MS ({self.redis_durable_timeout_ms}) must be below "
                f"REDIS_TIMEOUT ({self.redis_timeout} s), which bounds every Redis reply, "
                "the WAIT's too"
            )
        for origin in self.cors_origins:
            if not _ORIGIN.match(origin):
                raise ValueError(
                    f"CORS_ORIGINS: {origin!r} is not an origin such as https://app.example.com "
                    "(scheme, host and port only; no path, no trailing slash, no wildcard)"
                )
        if self.password_pepper_id not in self.password_peppers:
            raise ValueError(
                f"PASSWORD_PEPPER_ID {self.password_pepper_id!r} is not a key of PASSWORD_PEPPERS"
            )
        if self.env == "production":
            if self.jwt_secret == DEV_JWT_SECRET or len(self.jwt_secret) < 32:
                raise ValueError(
                    "JWT_SECRET must be set to a random value of at least 32 characters in "
                    "production (`python -c 'import secrets;print(secrets.token_urlsafe(48))'`)"
                )
            if self.neo4j_password == DEV_NEO4J_PASSWORD:
                raise ValueError("NEO4J_PASSWORD must be set in production")
            if not self.metrics_token or len(self.metrics_token) < 32:
                raise ValueError(
                    "METRICS_TOKEN must be set to a random value of at least 32 characters in "
                    "production: /metrics answers only `Authorization: Bearer <METRICS_TOKEN>`"
                )
            if any(v == DEV_PASSWORD_PEPPER or len(v) < 32 for v in self.password_peppers.values()):
                raise ValueError(
                    "PASSWORD_PEPPERS must map key ids to random values of at least 32 "
                    "characters in production, e.g. "
                    'PASSWORD_PEPPERS=\'{"2026-01": "<secrets.token_urlsafe(48)>"}\' '
                    "PASSWORD_PEPPER_ID=2026-01"
                )
        return self

    @property
    def neo4j_port(self) -> int:
        return urlparse(self.neo4j_uri).port or 7687

    @property
    def neo4j_host(self) -> str:
        return urlparse(self.neo4j_uri).hostname or "127.0.0.1"

    @property
    def redis_port(self) -> int:
        return urlparse(self.redis_url).port or 6379

    @property
    def redis_host(self) -> str:
        return urlparse(self.redis_url).hostname or "127.0.0.1"

    @property
    def redis_cluster_seed_url(self) -> str:
        """The cluster node a cluster client starts from (REDIS_CLUSTER_URL, else the local
        cluster's first node)."""
        return self.redis_cluster_url or f"redis://{self.redis_host}:{self.redis_cluster_port}/0"

    @property
    def neo4j_home(self) -> Path:
        return self.cache_dir / f"neo4j-{NEO4J_VERSION}"


def default_data_dir() -> Path:
    """Where the public data sets live (SOCIALGRAPH_DATA_DIR): by default `../shared/data`
    beside the checkout, or beside the working directory for an installed package."""
    env = os.environ.get("SOCIALGRAPH_DATA_DIR")
    if env:
        return Path(env)
    base = _SOURCE_ROOT if _IN_CHECKOUT else Path.cwd()
    return base.parent / "shared" / "data"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
