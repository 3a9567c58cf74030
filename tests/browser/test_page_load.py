"""What a person does while the page is still loading counts: a click is not lost, focus is not
taken back, and a conversation started meanwhile is not replaced by the remembered one."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.chat_support import (
    exchange,
    open_app,
    say,
    session_with,
    stored_messages,
    visible_turns,
)
from tests.browser.pages import HeldRequests, collect_errors, wait_until_loaded
from tests.fakes.openai_server import Reply


def test_settings_open_before_the_auth_check_answers(chat_page):
    errors = collect_errors(chat_page)
    held = HeldRequests(chat_page, "**/api/auth/status")
    chat_page.goto("/")
    held.wait()
    chat_page.get_by_role("button", name="Settings").click()
    expect(chat_page.get_by_role("dialog", name="Settings")).to_be_visible()
    held.release()
    wait_until_loaded(chat_page)
    expect(chat_page.get_by_role("dialog", name="Settings")).to_be_visible()
    assert errors.uncaught == [] and errors.console == []


def test_focus_moved_while_the_page_loads_is_not_taken_back(chat_page):
    errors = collect_errors(chat_page)
    held = HeldRequests(chat_page, "**/api/sessions?*")
    chat_page.goto("/")
    held.wait()
    button = chat_page.get_by_role("button", name="Settings")
    button.focus()
    held.release()
    wait_until_loaded(chat_page)
    expect(button).to_be_focused()
    assert errors.uncaught == [] and errors.console == []


def test_a_fresh_load_focuses_the_message_box(chat_page):
    open_app(chat_page)
    expect(chat_page.locator("#message-input")).to_be_focused()


def test_a_message_sent_while_the_page_loads_goes_to_the_conversation_it_shows(
    chat_page, chat_server, fake_llm
):
    errors = collect_errors(chat_page)
    fake_llm.script(Reply.text("Remembered answer."), Reply.text("Second answer."))
    open_app(chat_page)
    exchange(chat_page, "The remembered chat", "Remembered answer.")
    sid = session_with(chat_server, "The remembered chat")

    held = HeldRequests(chat_page, "**/api/sessions?*")
    chat_page.reload()
    held.wait()
    expect(chat_page.locator("#chat-title")).to_have_text("Loading…")
    expect(chat_page.locator("#empty-state")).to_be_hidden()
    say(chat_page, "A second question")
    held.release()
    wait_until_loaded(chat_page)
    expect(chat_page.get_by_text("Second answer.")).to_be_visible()
    expect(chat_page.locator("#stop-button")).to_be_hidden()
    assert visible_turns(chat_page) == [
        ("user", "The remembered chat"),
        ("assistant", "Remembered answer."),
        ("user", "A second question"),
        ("assistant", "Second answer."),
    ]
    assert [m["content"] for m in stored_messages(chat_server, sid)][-1] == "Second answer."
    assert session_with(chat_server, "A second question") == sid
    assert errors.uncaught == [] and errors.console == []


def test_a_new_chat_started_while_a_linked_one_loads_is_not_replaced(
    chat_page, chat_server, fake_llm
):
    errors = collect_errors(chat_page)
    fake_llm.script(Reply.text("First answer."))
    open_app(chat_page)
    exchange(chat_page, "Link to this one", "First answer.")
    sid = session_with(chat_server, "Link to this one")

    held = HeldRequests(chat_page, "**/api/sessions?*")
    chat_page.goto(f"/#session={sid}")
    chat_page.reload()
    held.wait()
    chat_page.get_by_role("button", name="New chat").click()
    held.release()
    wait_until_loaded(chat_page)
    expect(chat_page.locator("#chat-title")).to_have_text("New chat")
    chat_page.wait_for_load_state("networkidle")
    assert visible_turns(chat_page) == []
    assert errors.uncaught == [] and errors.console == []
