"""/docs (Swagger UI) and /redoc (ReDoc) work on a machine without internet (issue 13).

Their scripts, styles and icon are served by the app itself (`api/docs.py`, the files in
`api/docsassets/`), so:

- in headless Chromium each page renders, and every request it makes goes to the API's own
  origin (before the change: `cdn.jsdelivr.net` and `fastapi.tiangolo.com`, and a blank
  page, since this machine reaches no CDN); the policy of `api/middleware.py` blocks
  nothing they need (no "Refused to ..." in the console);
- Swagger UI's "Authorize" logs in through the OAuth2 password flow and "Try it out" then
  calls an authenticated route;
- no HTML page of the app names an outside host, and the assets it names are served.

The browser test writes the README's screenshots, docs/img/docs-swagger.png and
docs/img/docs-redoc.png.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from api.main import create_app
from core.config import Settings
from tests.apiproc import ApiProcess
from tests.browser import CHROMIUM, FLAGS

IMG = Path(__file__).resolve().parent.parent / "docs" / "img"
RENDER_MS = 30_000  # a loaded 2-core machine parses a 1.7 MB bundle slowly
PASSWORD = "correct horse battery"


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Headless Chromium as `tests.browser` launches it, but for one test: Playwright's sync
    API leaves its event loop set as the thread's running loop until it stops, and every
    async test after it would fail ("Runner.run() cannot be called from a running event
    loop")."""
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def api(settings: Settings) -> Iterator[ApiProcess]:
    with ApiProcess(settings) as server:
        yield server


class PageLog:
    """Every request a page makes, and its console errors (CSP violations among them)."""

    def __init__(self, page: Page, own: str) -> None:
        self.own = urlsplit(own).netloc
        self.urls: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda r: self.urls.append(r.url))
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))

    def _console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error":
            self.errors.append(msg.text)

    def assert_all_own(self) -> None:
        outside = self.outside()
        assert not outside, f"requests to outside hosts: {outside}"

    def outside(self) -> list[str]:
        """Requests that leave the API's origin (data: and blob: URLs stay in the page)."""
        return [
            u
            for u in self.urls
            if urlsplit(u).scheme not in ("data", "blob") and urlsplit(u).netloc != self.own
        ]


def rendered(page: Page, selector: str) -> bool:
    try:
        page.locator(selector).first.wait_for(timeout=RENDER_MS)
    except PlaywrightTimeout:
        return False
    return True


def test_swagger_ui_renders_offline_and_authorize_logs_in(
    browser: Browser,
    api: ApiProcess,
) -> None:
    r = httpx.post(f"{api.url}/v1/users", json={"handle": "docsreader", "password": PASSWORD})
    assert r.status_code == 201, r.text
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    log = PageLog(page, api.url)
    page.goto(f"{api.url}/docs")
    shown = rendered(page, '.opblock-summary-path[data-path="/v1/suggestions"]')
    log.assert_all_own()
    assert shown, f"the operation list never appeared; console: {log.errors}"
    authorize = page.locator("button.authorize").first
    assert authorize.is_visible()
    IMG.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMG / "docs-swagger.png"))

    # The OAuth2 password flow, as the README tells a newcomer to use it.
    authorize.click()
    page.locator("#oauth_username").fill("docsreader")
    page.locator("#oauth_password").fill(PASSWORD)
    page.locator(".auth-btn-wrapper button.authorize").click()
    # Swagger UI shows "Logout" once the token endpoint gave it a token.
    page.locator(".auth-btn-wrapper button", has_text="Logout").wait_for(timeout=RENDER_MS)
    page.locator(".auth-btn-wrapper button.btn-done").click()

    me = page.locator(".opblock-get", has=page.locator('[data-path="/v1/users/me"]')).first
    me.locator(".opblock-summary").first.click()
    me.locator("button.try-out__btn").click()
    me.locator("button.execute").click()
    status = me.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for(timeout=RENDER_MS)
    assert status.inner_text().strip() == "200", me.locator(".live-responses-table").inner_text()
    assert "docsreader" in me.locator(".live-responses-table").inner_text()

    log.assert_all_own()
    assert not [e for e in log.errors if "Content Security Policy" in e], log.errors
    page.close()


def test_redoc_renders_offline(browser: Browser, api: ApiProcess) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    log = PageLog(page, api.url)
    page.goto(f"{api.url}/redoc")
    shown = rendered(page, 'h1:has-text("socialgraph")')
    log.assert_all_own()
    assert shown, f"the API title never appeared; console: {log.errors}"
    assert page.get_by_text("/v1/suggestions").count() > 0  # the operations are listed
    IMG.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMG / "docs-redoc.png"))
    log.assert_all_own()
    assert not [e for e in log.errors if "Content Security Policy" in e], log.errors
    page.close()


# ------------------------------------------------------------------ no server needed

URL = re.compile(r"""(?:https?:)?//[^\s"'<>)]+""")


@pytest.fixture
async def docs_client() -> AsyncIterator[httpx.AsyncClient]:
    """The app in process, without its lifespan: the docs pages touch no server."""
    transport = httpx.ASGITransport(app=create_app(Settings()))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/docs/oauth2-redirect"])
async def test_no_page_names_an_outside_host(docs_client: httpx.AsyncClient, path: str) -> None:
    r = await docs_client.get(path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert URL.findall(html) == [], "absolute URLs in the page"
    assert "http://" not in html and "https://" not in html
    # Every asset the page names is served by the app, with the right type.
    refs = re.findall(r'<script[^>]+src="([^"]+)"', html)
    refs += re.findall(r'<link[^>]+href="([^"]+)"', html)
    if path != "/docs/oauth2-redirect":
        assert refs, "the page names no asset"
    kinds = {".js": "javascript", ".css": "text/css", ".png": "image/png"}
    for ref in refs:
        assert ref.startswith("/"), ref
        asset = await docs_client.get(ref)
        assert asset.status_code == 200, ref
        assert kinds[Path(ref).suffix] in asset.headers["content-type"], ref
        assert len(asset.content) > 100, ref
