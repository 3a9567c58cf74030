"""Each tab shows, and acts on, a conversation of its own: the address names it, so sending,
Undo, a reload or the back button in one tab never reach the conversation another tab shows.
The browser remembers only the last conversation opened, for a new tab whose address names none.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.chat_support import exchange, open_app, stored_messages
from tests.browser.pages import collect_errors, wait_until_loaded
from tests.browser.sidebar_support import imported, row
from tests.fakes.openai_server import Reply

X_TURNS = [("user", "x question"), ("assistant", "x answer")]
Y_TURNS = [("user", "y question"), ("assistant", "y answer")]
CURRENT = re.compile(r"\bis-current\b")


def two_conversations(server) -> tuple[str, str]:
    x = imported([], "Tab one", "x question", "x answer", base=server.base)["session_id"]
    y = imported([], "Tab two", "y question", "y answer", base=server.base)["session_id"]
    return x, y


def turns(server, sid: str) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in stored_messages(server, sid)]


def shows(page, title: str, sid: str | None) -> None:
    expect(page.locator("#chat-title")).to_have_text(title)
    address = page.evaluate("() => location.hash")
    assert address == (f"#session={sid}" if sid else ""), address


def test_each_tab_sends_and_undoes_in_the_conversation_it_shows(chat_page, chat_server, fake_llm):
    x, y = two_conversations(chat_server)
    first, second = chat_page, chat_page.context.new_page()
    errors = [collect_errors(first), collect_errors(second)]
    open_app(first, f"#session={x}")
    open_app(second, f"#session={y}")  # opened last: the browser remembers this one

    fake_llm.script(Reply.text("Answer in one."))
    exchange(first, "Sent from tab one", "Answer in one.")
    assert turns(chat_server, x) == [
        *X_TURNS,
        ("user", "Sent from tab one"),
        ("assistant", "Answer in one."),
    ]
    assert turns(chat_server, y) == Y_TURNS

    first.locator("#undo-button").click()
    expect(first.locator("#messages .msg")).to_have_count(2)
    assert turns(chat_server, x) == X_TURNS
    assert turns(chat_server, y) == Y_TURNS

    for page in (first, second):
        page.reload()
        wait_until_loaded(page)
    shows(first, "Tab one", x)
    shows(second, "Tab two", y)
    expect(row(first, x)).to_have_class(CURRENT)
    assert all(e.uncaught == [] and e.console == [] for e in errors)


def test_a_new_tab_opens_the_last_conversation_and_a_new_chat_survives_a_reload(
    chat_page, chat_server
):
    x, y = two_conversations(chat_server)
    first, second = chat_page, chat_page.context.new_page()
    errors = [collect_errors(first), collect_errors(second)]
    open_app(first, f"#session={x}")
    open_app(second)
    shows(second, "Tab one", x)

    second.get_by_role("button", name="New chat").click()
    shows(second, "New chat", None)
    row(first, y).locator(".session-open").click()
    shows(first, "Tab two", y)

    second.reload()
    wait_until_loaded(second)
    shows(second, "New chat", None)
    assert all(e.uncaught == [] and e.console == [] for e in errors)


def test_back_and_forward_return_to_the_conversations_opened_in_the_tab(
    chat_page, chat_server, fake_llm
):
    errors = collect_errors(chat_page)
    x, y = two_conversations(chat_server)
    open_app(chat_page, f"#session={x}")
    row(chat_page, y).locator(".session-open").click()
    shows(chat_page, "Tab two", y)
    chat_page.get_by_role("button", name="New chat").click()
    shows(chat_page, "New chat", None)

    chat_page.go_back()
    shows(chat_page, "Tab two", y)
    chat_page.go_back()
    shows(chat_page, "Tab one", x)
    expect(row(chat_page, x)).to_have_class(CURRENT)
    fake_llm.script(Reply.text("Back in one."))
    exchange(chat_page, "Sent after going back", "Back in one.")
    assert turns(chat_server, x)[-2:] == [
        ("user", "Sent after going back"),
        ("assistant", "Back in one."),
    ]
    assert turns(chat_server, y) == Y_TURNS

    chat_page.go_forward()
    shows(chat_page, "Tab two", y)
    assert errors.uncaught == [] and errors.console == []


def test_the_skip_link_focuses_the_box_and_keeps_the_conversation_in_the_address(
    chat_page, chat_server
):
    errors = collect_errors(chat_page)
    x, _ = two_conversations(chat_server)
    open_app(chat_page, f"#session={x}")
    chat_page.get_by_role("link", name="Skip to message box").focus()
    chat_page.keyboard.press("Enter")

    expect(chat_page.locator("#message-input")).to_be_focused()
    shows(chat_page, "Tab one", x)
    chat_page.reload()
    wait_until_loaded(chat_page)
    shows(chat_page, "Tab one", x)
    assert errors.uncaught == [] and errors.console == []
