"""A minimal HTTP/1.1 keep-alive client for loopback load generation.

Why not httpx: on this 2-core machine the load generator shares the CPU with uvicorn,
Neo4j and Redis, so every microsecond the client spends per request is taken from the
server it measures. httpx costs several times more CPU per request than this client
(`bench.run` measures both against the bare endpoint and records the figures as
`client_check`); this one writes a prebuilt request and reads a Content-Length body.

Contract: the servers are uvicorn (httptools), which always sends Content-Length for the
JSON responses measured here; a chunked or length-less response raises `ProtocolError`
rather than being mis-read. Only loopback addresses are accepted.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

MAX_HEADER_BYTES = 64 * 1024


class ProtocolError(Exception):
    """The server answered something this client does not parse."""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    headers: dict[str, str]


def check_loopback(host: str) -> None:
    if host == "localhost":
        return
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"the load generator only targets loopback addresses, not {host!r}")


def build_request(
    method: str,
    path: str,
    host: str,
    port: int,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Connection:
    """One keep-alive connection; one request at a time."""

    def __init__(self, host: str, port: int) -> None:
        check_loopback(host)
        self.host = host
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None or self._writer.is_closing():
            self._reader, self._writer = await asyncio.open_connection(
                self.host, self.port, limit=MAX_HEADER_BYTES
            )
        return self._reader, self._writer

    async def send(self, raw: bytes) -> Response:
        """Send a prebuilt request (see `build_request`) and read the whole response.
        A connection the server closed is reopened once, before anything was read."""
        for attempt in (0, 1):
            reader, writer = await self._open()
            writer.write(raw)
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionResetError):
                await self.close()
                if attempt:
                    raise
                continue
            return await self._read_rest(reader, head)
        raise AssertionError("unreachable")

    async def _read_rest(self, reader: asyncio.StreamReader, head: bytes) -> Response:
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if "content-length" not in headers:
            raise ProtocolError(f"response without Content-Length: {lines[0]!r} {headers}")
        body = await reader.readexactly(int(headers["content-length"]))
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return Response(status, body, headers)

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass


class Pool:
    """Connections handed out one request at a time; new ones are opened on demand up to
    `size` (open-loop load needs more connections than concurrent requests on average)."""

    def __init__(self, host: str, port: int, size: int) -> None:
        check_loopback(host)
        self.host = host
        self.port = port
        self._idle: list[Connection] = []
        self._all: list[Connection] = []
        self._slots = asyncio.Semaphore(size)

    async def send(self, raw: bytes) -> Response:
        async with self._slots:
            conn = self._idle.pop() if self._idle else self._new()
            try:
                response = await conn.send(raw)
            except BaseException:
                await conn.close()
                raise
            self._idle.append(conn)
            return response

    def _new(self) -> Connection:
        conn = Connection(self.host, self.port)
        self._all.append(conn)
        return conn

    async def close(self) -> None:
        for conn in self._all:
            await conn.close()
        self._all.clear()
        self._idle.clear()
