"""Pure-ASGI middleware: request body size limit (streamed bodies included), and the
security headers every HTTP response carries."""

from __future__ import annotations

import base64
import hashlib
import json
import re

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
# /docs (Swagger UI), /redoc and the OAuth2 redirect page (api/docs.py), whose assets the
# app serves itself: everything from this origin only. Scripts: the bundles, and the page's
# own inline script by its hash (its text is fixed by the app, no user input). Styles may be
# inline: Swagger UI sets style attributes and ReDoc injects <style> elements. Images from
# this origin or data: URIs (icons in the stylesheets); requests to this origin ("Try it
# out", the OpenAPI document, the token endpoint); ReDoc's search worker from a blob.
_DOCS_CSP = (
    "default-src 'none'; "
    "script-src 'self'{hashes}; "
    "style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; "
    "connect-src 'self'; "
    "worker-src blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)


def docs_csp(html: str) -> str:
    """The policy of a documentation page, allowing exactly the inline scripts of `html`."""
    hashes = "".join(
        f" 'sha256-{base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()}'"
        for body in _INLINE_SCRIPT.findall(html)
    )
    return _DOCS_CSP.format(hashes=hashes)


HSTS = b"max-age=63072000; includeSubDomains"


class SecurityHeaders:
    """Adds the common headers, a Content-Security-Policy (`API_CSP`; the documentation
    pages set their own, `docs_csp`), `Cache-Control: no-store` on requests that carry
    credentials and on everything under /v1 (tokens, private data), and HSTS when the
    request came over https. A header the app set itself is kept. WebSocket scopes pass
    through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.api_csp = (b"content-security-policy", API_CSP.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        extra = [*_COMMON, self.api_csp]
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
