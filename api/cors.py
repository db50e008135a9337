"""CORS: the browser origins allowed to call the API from another site (CORS_ORIGINS).

Starlette's middleware, with what the API uses: the methods of its routes, the request
headers it reads (the bearer token, JSON bodies, idempotency keys, a client's request id)
and the response headers a client needs (`X-Request-ID` to report a problem,
`Retry-After` on 429/503, `Idempotent-Replayed` on a replayed send). Credentials are
allowed, so origins are listed one by one (core/config.py refuses `*`). With no origin
set, no CORS header is ever sent: browsers then allow same-origin calls only.

In `create_app` it sits inside `SecurityHeaders` (a preflight gets them too) and outside
`BodySizeLimit`, so a browser can read a 413, and every error body, as well.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
ALLOW_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"]
EXPOSE_HEADERS = ["X-Request-ID", "Retry-After", "Idempotent-Replayed"]
PREFLIGHT_MAX_AGE = 600  # seconds a browser may cache a preflight's answer


def add_cors(app: FastAPI, origins: list[str]) -> None:
    if not origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_credentials=True,
        allow_methods=METHODS,
        allow_headers=ALLOW_HEADERS,
        expose_headers=EXPOSE_HEADERS,
        max_age=PREFLIGHT_MAX_AGE,
    )
