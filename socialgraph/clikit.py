"""What the `socialgraph` commands share: the consoles, one way to fail, settings
loading, and Neo4j connections that end in a sentence instead of a traceback.

Every failure goes to stderr as `error: <message>` with exit code 1 (or the one given),
through `typer.Exit`, so CliRunner tests see the code and no traceback. A `CliKit` holds
how one command family prints its errors; the analyst commands keep long messages
(Neo4j's, the list of query names) on one line so that they can be grepped and pasted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer
from rich.console import Console

from core.config import Settings, get_settings

if TYPE_CHECKING:
    from neo4j import AsyncDriver, Driver

    from graph.db import Graph

T = TypeVar("T")

console = Console()
err = Console(stderr=True)


@dataclass(frozen=True)
class CliKit:
    """`soft_wrap=True` prints error messages unwrapped (the terminal folds them)."""

    soft_wrap: bool = False

    def fail(self, message: str, code: int = 1) -> NoReturn:
        err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=self.soft_wrap)
        raise typer.Exit(code)

    def settings(self) -> Settings:
        try:
            return get_settings()
        except ValueError as exc:
            self.fail(f"invalid configuration: {exc}")

    @contextmanager
    def sync_driver(self, settings: Settings) -> Iterator[Driver]:
        """A verified sync driver, closed on exit; an unreachable server or a rejected
        password fails the command with a sentence saying what to do."""
        from graph.db import Neo4jConnectError, open_sync_driver

        try:
            driver = open_sync_driver(settings)
        except Neo4jConnectError as exc:
            self.fail(str(exc))
        with driver:
            yield driver

    @asynccontextmanager
    async def async_driver(self, settings: Settings) -> AsyncIterator[AsyncDriver]:
        """`sync_driver`, async."""
        from graph.db import Neo4jConnectError, open_async_driver

        try:
            driver = await open_async_driver(settings)
        except Neo4jConnectError as exc:
            self.fail(str(exc))
        try:
            yield driver
        finally:
            await driver.close()

    @asynccontextmanager
    async def graph(self, settings: Settings, timeout: float = 10.0) -> AsyncIterator[Graph]:
        """The query executor on a driver from `async_driver`; `timeout` bounds each
        transaction."""
        from graph.db import Graph

        async with self.async_driver(settings) as driver:
            yield Graph(driver, settings.neo4j_database, timeout=timeout)


def quiet_notifications() -> None:
    """The driver logs every server notification as a warning; the commands report what
    matters themselves."""
    logging.getLogger("neo4j.notifications").setLevel(logging.ERROR)


def run(coro: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run`, also from a thread whose event loop is busy (an async test driving a
    command through CliRunner): then the coroutine gets its own loop in a worker thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(1, thread_name_prefix="socialgraph-cli") as pool:
        return pool.submit(asyncio.run, coro).result()
