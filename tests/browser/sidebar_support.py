"""Helpers for the sidebar's browser tests: sessions made over HTTP, rows and menus found by id."""

from __future__ import annotations

import json
import urllib.parse

from tests.conftest import TEST_BASE
from tests.support import request


def imported(created: list, title: str, *texts: str, base: str = TEST_BASE) -> dict:
    """A session imported over HTTP (user and assistant turns alternating), cleaned up later."""
    roles = ("user", "assistant")
    messages = [{"role": roles[i % 2], "content": text} for i, text in enumerate(texts or ("hi",))]
    reply = request(base, "POST", "/api/session/import", {"title": title, "messages": messages})
    assert reply.status == 200, reply.body
    session = reply.json["session"]
    created.append(session["session_id"])
    return session


def server_session(sid: str, base: str = TEST_BASE):
    """The reply of GET /api/session for `sid` (status and body)."""
    return request(base, "GET", "/api/session?" + urllib.parse.urlencode({"session_id": sid}))


def listed_ids(base: str = TEST_BASE, **query: object) -> list[str]:
    reply = request(base, "GET", "/api/sessions?" + urllib.parse.urlencode(query))
    assert reply.status == 200, reply.body
    return [row["session_id"] for row in reply.json["sessions"]]


def row(page, sid: str):
    return page.locator(f'#session-list .session[data-id="{sid}"]')


def open_menu(page, sid: str):
    """Open a row's menu and return the menu."""
    row(page, sid).locator(".session-menu-button").click()
    menu = page.get_by_role("menu")
    menu.wait_for()
    return menu


def load_app(page, base: str = TEST_BASE, sid: str | None = None) -> None:
    """Open the UI (optionally on a session) and wait until the list has rendered."""
    page.goto(base + (f"/#session={sid}" if sid else "/"))
    page.locator("#session-list .session, #session-list .list-empty").first.wait_for(
        state="attached"
    )


def export_body(path: str) -> dict:
    with open(path, "rb") as f:
        return json.loads(f.read())
