"""The documentation pages, served without a CDN: Swagger UI at /docs (with its OAuth2
redirect page, so "Authorize" works) and ReDoc at /redoc. Their scripts, styles and icon
come from `api/docsassets/` (upstream builds at pinned versions, see its README.md),
mounted under /docs/assets, so the pages work on a machine without internet and name no
outside host.

The app is created with `docs_url=None, redoc_url=None` and calls `install_docs(app)`.
Each page carries its own Content-Security-Policy (`api.middleware.docs_csp`): this origin
only, and the page's inline script by its hash, so the header always matches the page as
served (whatever the FastAPI version renders).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from api.middleware import docs_csp

DOCS = "/docs"
REDOC = "/redoc"
OAUTH2_REDIRECT = "/docs/oauth2-redirect"
ASSETS = "/docs/assets"
# Swagger UI's online validator badge would fetch an image from validator.swagger.io.
SWAGGER_UI_PARAMETERS: dict[str, Any] = {"validatorUrl": None}


def install_docs(app: FastAPI) -> None:
    """Mount the assets and add the three pages (none of them in the OpenAPI document)."""
    for name in ("swagger-ui", "redoc"):
        app.mount(
            f"{ASSETS}/{name}",
            StaticFiles(packages=[("api", f"docsassets/{name}")]),
            name=f"docs-assets-{name}",
        )
    app.swagger_ui_oauth2_redirect_url = OAUTH2_REDIRECT

    @app.get(DOCS, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = _root(request)
        page = get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS}/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS}/swagger-ui/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS}/swagger-ui/favicon-32x32.png",
            oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT}",
            init_oauth=app.swagger_ui_init_oauth,
            swagger_ui_parameters={**SWAGGER_UI_PARAMETERS, **(app.swagger_ui_parameters or {})},
        )
        return _with_policy(page)

    @app.get(OAUTH2_REDIRECT, include_in_schema=False)
    async def swagger_ui_oauth2_redirect() -> HTMLResponse:
        return _with_policy(get_swagger_ui_oauth2_redirect_html())

    @app.get(REDOC, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = _root(request)
        page = get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS}/redoc/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS}/swagger-ui/favicon-32x32.png",
            with_google_fonts=False,
        )
        return _with_policy(page)


def _root(request: Request) -> str:
    """The prefix a proxy mounts the app under (`--root-path`), as FastAPI's own pages use."""
    root: str = request.scope.get("root_path", "")
    return root.rstrip("/")


def _with_policy(page: HTMLResponse) -> HTMLResponse:
    page.headers["content-security-policy"] = docs_csp(bytes(page.body).decode())
    return page
