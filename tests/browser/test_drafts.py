"""Unsent text in the message box is kept per conversation: across a reload, across a look at
another conversation, until it is sent, and not after the conversation is deleted."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.chat_support import ANSWERS, open_app
from tests.browser.pages import collect_errors, wait_until_loaded
from tests.browser.sidebar_support import imported, open_menu, row
from tests.fakes.openai_server import Reply


def open_row(page, sid: str, title: str) -> None:
    row(page, sid).locator(".session-open").click()
    expect(page.locator("#chat-title")).to_have_text(title)


def test_drafts_stay_with_their_conversation_until_sent(chat_page, chat_server, fake_llm):
    errors = collect_errors(chat_page)
    first = imported([], "Draft one", "hi", "hello", base=chat_server.base)["session_id"]
    second = imported([], "Draft two", "hey", "yes?", base=chat_server.base)["session_id"]
    box = chat_page.locator("#message-input")
    open_app(chat_page, f"#session={first}")
    box.fill("half a thought for one")

    chat_page.reload()
    wait_until_loaded(chat_page)
    expect(box).to_have_value("half a thought for one")

    open_row(chat_page, second, "Draft two")
    assert chat_page.url.endswith(f"/#session={second}"), "a reload reopens what is shown"
    expect(box).to_have_value("")
    box.fill("a note for two")
    chat_page.get_by_role("button", name="New chat").click()
    expect(box).to_have_value("")
    box.fill("the start of something new")

    open_row(chat_page, first, "Draft one")
    expect(box).to_have_value("half a thought for one")
    chat_page.get_by_role("button", name="New chat").click()
    expect(box).to_have_value("the start of something new")

    fake_llm.script(Reply.text("Sent and answered."))
    box.press("Enter")
    expect(chat_page.locator(ANSWERS).last).to_have_text("Sent and answered.")
    expect(chat_page.locator("#stop-button")).to_be_hidden()
    chat_page.reload()
    wait_until_loaded(chat_page)
    expect(box).to_have_value("")
    open_row(chat_page, second, "Draft two")
    expect(box).to_have_value("a note for two")
    assert errors.uncaught == [] and errors.console == []


def test_deleting_a_conversation_forgets_its_draft(chat_page, chat_server):
    errors = collect_errors(chat_page)
    sid = imported([], "Soon gone", "hi", "hello", base=chat_server.base)["session_id"]
    open_app(chat_page, f"#session={sid}")
    chat_page.locator("#message-input").fill("never sent")
    stored = f"localStorage.getItem('hermes.draft.{sid}')"
    assert chat_page.evaluate(stored) == "never sent"

    open_menu(chat_page, sid).get_by_role("menuitem", name="Delete…").click()
    chat_page.get_by_role("dialog", name="Delete conversation").get_by_role(
        "button", name="Delete", exact=True
    ).click()
    expect(row(chat_page, sid)).to_have_count(0)
    expect(chat_page.locator("#message-input")).to_have_value("")
    assert chat_page.evaluate(stored) is None
    assert errors.uncaught == [] and errors.console == []
