"""Pure-ASGI middleware: request body size limit (streamed bodies included), and the
security headers every HTTP response carries."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_body


class BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = False
                if too_big:
                    await self._reject(send)
                    return
        received = 0
        started = exceeded = rejected = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started, rejected
            if rejected:
                return
            if message["type"] == "http.response.start":
                if exceeded:
                    # FastAPI turns any error while reading the body into its own 400
                    # ("error parsing the body"); the client gets the 413 instead.
                    rejected = True
                    await self._reject(send)
                    return
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started and not rejected:
                await self._reject(send)

    async def _reject(self, send: Send) -> None:
        body = json.dumps(
            error_body("payload_too_large", f"request body exceeds {self.max_bytes} bytes")
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


# Every HTTP response. The API answers JSON only, so its policy allows nothing at all.
_COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# /docs (Swagger UI), /redoc and the OAuth2 redirect page: scripts and styles from the CDN
# FastAPI's pages name, one inline script each (their text is fixed by the app, no user
# input), Redoc's web worker from a blob, fonts from Google, images from the two sites
# the pages show, requests to this origin only ("Try it out", the OpenAPI document).
DOCS_CSP = (
    "default-src 'none'; "
    "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src https://fonts.gstatic.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "connect-src 'self'; "
    "worker-src 'self' blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
HSTS = b"max-age=63072000; includeSubDomains"


class SecurityHeaders:
    """Adds the common headers, a Content-Security-Policy (`DOCS_CSP` on `docs_paths`,
    `API_CSP` elsewhere), `Cache-Control: no-store` on requests that carry credentials and
    on everything under /v1 (tokens, private data), and HSTS when the request came over
    https. A header the app set itself is kept. WebSocket scopes pass through."""

    def __init__(self, app: ASGIApp, docs_paths: tuple[str | None, ...] = ()) -> None:
        self.app = app
        self.docs_paths = frozenset(p for p in docs_paths if p)
        self.api_csp = (b"content-security-policy", API_CSP.encode())
        self.docs_csp = (b"content-security-policy", DOCS_CSP.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        extra = [*_COMMON, self.docs_csp if path in self.docs_paths else self.api_csp]
        if path.startswith("/v1/") or any(
            name == b"authorization" for name, _ in scope.get("headers", [])
        ):
            extra.append((b"cache-control", b"no-store"))
        if scope.get("scheme") == "https":
            extra.append((b"strict-transport-security", HSTS))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                have = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in extra if name not in have]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
