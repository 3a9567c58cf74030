"""The browser UI: two HTML pages, the static assets they load, and the icon.

The pages are not part of the JSON API, so they stay out of the OpenAPI schema. Each page is an
ASGI endpoint that answers GET and HEAD itself (anything else is a 405 in the API's error
shape); the assets are a `StaticFiles` mount under `/static/`. The pages name their icon,
`/static/favicon.svg`; it is served as `/favicon.ico` too, where browsers look for one on pages
that name none (the JSON of `/health`, say).

The pages and assets are public even with a password set: they hold no data, and the UI
sends a person to `/login` when the API answers 401.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.responses import FileResponse
from starlette.routing import Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from api.responses import error_response

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
PAGE_HEADERS = {"Cache-Control": "no-cache"}


class Page:
    """One file of `STATIC_DIR` at a fixed address (an HTML page by default), for GET and HEAD."""

    def __init__(self, filename: str, media_type: str = "text/html; charset=utf-8") -> None:
        self.filename = filename
        self.media_type = media_type

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            refusal = error_response(405, "method not allowed")
            refusal.headers["Allow"] = "GET, HEAD"
            await refusal(scope, receive, send)
            return
        response = FileResponse(
            STATIC_DIR / self.filename, media_type=self.media_type, headers=PAGE_HEADERS
        )
        await response(scope, receive, send)


def install(app: FastAPI) -> None:
    """Serve `/`, `/login`, `/favicon.ico` and `/static/…` from the packaged `api/static`."""
    app.router.routes.append(Route("/", Page("index.html"), include_in_schema=False))
    app.router.routes.append(Route("/login", Page("login.html"), include_in_schema=False))
    icon = Page("favicon.svg", media_type="image/svg+xml")
    app.router.routes.append(Route("/favicon.ico", icon, include_in_schema=False))
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
