"""Helpers for the Markdown tests: render text with the page's own renderer into a box on the
page, and open an answer the way a person does, through an imported conversation."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

from tests.conftest import TEST_BASE, _post

BOX = "#rendered"
"""Where `render` puts its result: a `.bubble-body` on the app's page, so the app's CSS applies."""

# Renders `text` with renderMarkdown into a fresh #rendered box at the end of the page.
RENDER = """async (text) => {
  const { renderMarkdown } = await import('/static/js/markdown.js');
  document.getElementById('rendered')?.remove();
  const box = document.createElement('div');
  box.id = 'rendered';
  box.className = 'bubble-body';
  document.body.append(box);
  box.append(renderMarkdown(text));
}"""


def render(page: Page, text: str) -> None:
    """Renders `text` on the app's page (loaded first if the page shows something else)."""
    if not page.url.startswith(TEST_BASE):
        page.goto(TEST_BASE + "/")
    page.evaluate(RENDER, text)


def open_answer(page: Page, cleanup: list[str], answer: str, question: str = "?") -> str:
    """Imports a conversation whose one answer is `answer`, opens it and returns its id."""
    reply = _post(
        TEST_BASE,
        "/api/session/import",
        {
            "messages": [
                {"role": "user", "content": question},
                {"role": "assistant", "content": answer},
            ]
        },
    )
    sid = reply["session"]["session_id"]
    cleanup.append(sid)
    page.goto(f"{TEST_BASE}/#session={sid}")
    page.locator("#messages .msg-assistant .bubble-body").first.wait_for()
    return sid


def foreign_requests(page: Page) -> list[str]:
    """A list that fills with every request `page` makes to anything but the test server."""
    seen: list[str] = []

    def on_request(request: Any) -> None:
        if not request.url.startswith(TEST_BASE + "/"):
            seen.append(request.url)

    page.on("request", on_request)
    return seen
