"""Helpers for the chat-pane browser tests: driving the page and reading the stored session."""

from __future__ import annotations

import urllib.parse
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.pages import wait_until_loaded
from tests.support import ServerProcess, request

WAIT = 15_000
"""Milliseconds to wait for a run to end: a shared machine can be slow."""

ANSWERS = "#messages .msg-assistant .bubble-body"
"""The text of each answer, without the controls under it."""


def open_app(page: Page, fragment: str = "") -> None:
    """Load the UI and wait until the chat pane is ready for input."""
    page.goto("/" + fragment)
    wait_until_loaded(page)
    expect(page.locator("#message-input")).to_be_editable()
    page.wait_for_load_state("networkidle")


def say(page: Page, text: str) -> None:
    page.locator("#message-input").fill(text)
    page.locator("#message-input").press("Enter")


def exchange(page: Page, text: str, answer: str) -> None:
    """Sends `text` and waits until the scripted `answer` is shown and its run has ended."""
    say(page, text)
    expect(page.locator(ANSWERS).last).to_have_text(answer, timeout=WAIT)
    expect(page.locator("#stop-button")).to_be_hidden(timeout=WAIT)


def words(prefix: str, count: int) -> str:
    """`count` distinct words, e.g. "tide0 tide1 …", so any repeat of the text is visible."""
    return " ".join(f"{prefix}{i}" for i in range(count))


def wait_for_partial(page: Page, first: str, last: str) -> str:
    """Waits until the live answer shows `first` and returns it: read in the same step, so
    the returned text proves whether `last` was already there."""
    handle = page.wait_for_function(
        """([first]) => {
          const live = document.querySelector('#messages .msg-assistant.is-live .live-text');
          const text = live ? live.textContent : '';
          return text.includes(first) ? text : null;
        }""",
        arg=[first],
    )
    text = handle.json_value()
    assert last not in text, "the answer should still be streaming"
    return text


def session_with(server: ServerProcess, text: str) -> str:
    """The id of the one stored session whose title or messages contain `text`."""
    query = urllib.parse.urlencode({"q": text})
    rows = request(server.base, "GET", f"/api/sessions/search?{query}").json["sessions"]
    assert len(rows) == 1, rows
    return rows[0]["session_id"]


def stored_messages(server: ServerProcess, session_id: str) -> list[dict[str, Any]]:
    reply = request(server.base, "GET", f"/api/session?session_id={session_id}")
    assert reply.status == 200, reply.body
    return reply.json["session"]["messages"]


def visible_turns(page: Page) -> list[tuple[str, str]]:
    """(role, text) of every bubble in the pane, top to bottom."""
    rows = page.evaluate(
        """() => [...document.querySelectorAll('#messages .msg')].map((node) => [
          node.classList.contains('msg-user') ? 'user' : 'assistant',
          node.querySelector('.bubble-body').textContent.trim(),
        ])"""
    )
    return [tuple(row) for row in rows]
