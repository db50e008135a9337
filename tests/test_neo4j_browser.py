"""The Neo4j Browser on the local stack: served by Neo4j's HTTP connector (127.0.0.1 only,
the port `devstack.http_port` derives from Bolt's) from the neo4j-browser jar the pom puts
on the classpath. Headless Chromium logs in as the settings say and runs a catalog query;
the screenshot is docs/img/neo4j-browser.png (docs/analysis.md shows it)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import httpx
import networkx as nx
from playwright.sync_api import Browser, Page, expect

from core.config import Settings
from graph.queries import q
from socialgraph import devstack
from tests.browser import browser  # noqa: F401 - one Chromium per test
from tests.graphs import load_graph

SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "img" / "neo4j-browser.png"


def http_base(settings: Settings) -> str:
    port = devstack.http_port(settings)
    url = f"http://{settings.neo4j_host}:{port}"
    try:
        httpx.get(url + "/", timeout=5)
    except httpx.TransportError as exc:
        raise AssertionError(
            f"Neo4j's HTTP connector does not answer on {url} ({exc}): a test stack started "
            "before the connector existed keeps running without it; `make test-down` and "
            "run again"
        ) from exc
    return url


def only_loopback(page: Page) -> list[str]:
    """Refuse the Browser's outside requests (web fonts, analytics): our machines are
    offline, and a refused request fails at once instead of waiting for a timeout."""
    refused: list[str] = []

    def refuse(route: Any) -> None:
        refused.append(route.request.url)
        route.abort()

    page.route(lambda url: not url.startswith(("http://127.0.0.1", "ws://127.0.0.1")), refuse)
    return refused


def listen_addresses(port: int) -> set[str]:
    """The local addresses of the sockets listening on `port` (Linux: /proc/net/tcp*)."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if state != "0A" or int(hex_port, 16) != port:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(address)
            # The kernel prints each 32-bit word in host (little-endian) order.
            words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            family = socket.AF_INET if len(words) == 4 else socket.AF_INET6
            found.add(socket.inet_ntop(family, words))
    return found


def test_http_connector_is_on_loopback_only_and_serves_the_browser(settings: Settings) -> None:
    base = http_base(settings)
    discovery = httpx.get(base + "/", headers={"Accept": "application/json"}).json()
    assert discovery["bolt_direct"] == f"bolt://127.0.0.1:{settings.neo4j_port}"
    page = httpx.get(base + "/browser/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "Neo4j Browser" in page.text
    # Bound to 127.0.0.1 only: every listening socket on the port is a loopback one.
    listening = listen_addresses(devstack.http_port(settings))
    assert listening and listening <= {"127.0.0.1", "::ffff:127.0.0.1"}, listening


def test_browser_logs_in_and_runs_a_catalog_query(
    browser: Browser,  # noqa: F811
    neo: Any,
    settings: Settings,
) -> None:
    base = http_base(settings)
    load_graph(neo, nx.karate_club_graph())  # 34 users, 78 friendships

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    only_loopback(page)
    try:
        page.goto(base + "/browser/")
        address = page.get_by_test_id("boltaddress")
        address.wait_for(timeout=60_000)
        page.locator("select").first.select_option("bolt://")
        address.fill(f"{settings.neo4j_host}:{settings.neo4j_port}")
        page.get_by_test_id("username").fill(settings.neo4j_user)
        page.get_by_test_id("password").fill(settings.neo4j_password)
        page.get_by_test_id("connect").click()
        expect(page.get_by_text("You are connected as user")).to_be_visible(timeout=60_000)
        expect(
            page.get_by_text(f"bolt://{settings.neo4j_host}:{settings.neo4j_port}")
        ).to_be_visible()

        # The catalog's own text, as an analyst would paste it.
        page.locator(".monaco-editor").first.click()
        page.keyboard.insert_text(q("analytics.graph_summary").text)
        page.get_by_test_id("editor-Run").click()

        result = page.get_by_test_id("frame").first
        expect(result.get_by_test_id("frameStatusbar")).to_contain_text(
            "Started streaming 1 records", timeout=60_000
        )
        for column in ("users", "friendships", "avg_degree", "density"):
            expect(result.get_by_text(column, exact=True)).to_be_visible()
        expect(result.get_by_text("34", exact=True)).to_be_visible()
        expect(result.get_by_text("78", exact=True)).to_be_visible()

        # The welcome guide out of the picture: the result above the connection frame.
        welcome = page.get_by_test_id("frame").filter(has_text=":play start")
        welcome.get_by_title("Close").click()
        expect(welcome).to_have_count(0)
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))
    finally:
        context.close()
