"""Headless Chromium for browser tests: Debian's package (installed by `make system-deps`),
driven by Playwright, never a downloaded browser.

The flags keep Chromium off the network on its own account (background updates, sync,
component downloads): on machines without internet those connections fail noisily, and a
test that asserts "no outside request" must only see the page's own requests.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",  # root in CI containers
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser() -> Iterator[Browser]:
    """One Chromium per test. Not session-scoped: while `sync_playwright()` is open its
    event loop stays set on the main thread, and every async test after it would fail
    with "Runner.run() cannot be called from a running event loop"."""
    path = shutil.which("chromium") or CHROMIUM
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=FLAGS, headless=True)
        yield b
        b.close()
