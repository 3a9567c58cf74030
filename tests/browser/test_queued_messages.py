"""A message sent while an answer runs waits in a queue. When it cannot be sent after the
answer (the run is stopped, another conversation is opened, the page reloads), it goes back to
the message box as that conversation's draft: never sent unasked, never silently dropped."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.chat_support import (
    ANSWERS,
    WAIT,
    open_app,
    say,
    stored_messages,
    wait_for_partial,
    words,
)
from tests.browser.pages import collect_errors, wait_until_loaded
from tests.browser.sidebar_support import imported, row
from tests.fakes.openai_server import Reply

QUEUED_NOTE = "1 message queued; sent when this answer ends"
ANSWER = words("swell", 60)


def queue_during_a_run(page, fake_llm, first: str, queued: str) -> str:
    """Starts a slow answer to `first`, sends `queued` while it streams; returns the session."""
    fake_llm.script(Reply.text(ANSWER, delay=0.08))
    say(page, first)
    wait_for_partial(page, "swell1", "swell59")
    say(page, queued)
    expect(page.locator("#queued")).to_have_text(QUEUED_NOTE)
    expect(page.locator("#message-input")).to_have_value("")
    return page.evaluate("() => location.hash").removeprefix("#session=")


def shows_the_whole_answer(page) -> None:
    """Waits until the run has ended and its saved turn is shown."""
    expect(page.locator(ANSWERS).last).to_have_text(ANSWER, timeout=WAIT)
    expect(page.locator("#stop-button")).to_be_hidden()


def never_sent(server, sid: str, first: str, queued: str) -> None:
    """`first` is stored and `queued` is in no stored message."""
    messages = stored_messages(server, sid)
    assert messages[0]["content"] == first
    assert all(queued not in str(m["content"]) for m in messages), messages


def test_stop_puts_the_queued_message_back_in_the_box_unsent(chat_page, chat_server, fake_llm):
    errors = collect_errors(chat_page)
    box = chat_page.locator("#message-input")
    open_app(chat_page)
    sid = queue_during_a_run(chat_page, fake_llm, "Run until stopped", "Queued, then stopped")

    chat_page.locator("#stop-button").click()

    expect(box).to_have_value("Queued, then stopped")
    expect(chat_page.locator("#queued")).to_be_hidden()
    expect(chat_page.locator("#stop-button")).to_be_hidden(timeout=WAIT)
    expect(chat_page.locator("#messages .is-live")).to_have_count(0)
    expect(box).to_have_value("Queued, then stopped")
    never_sent(chat_server, sid, "Run until stopped", "Queued, then stopped")
    chat_page.reload()
    wait_until_loaded(chat_page)
    expect(box).to_have_value("Queued, then stopped")
    assert errors.uncaught == [] and errors.console == []


def test_opening_another_conversation_keeps_the_queued_message_as_its_draft(
    chat_page, chat_server, fake_llm
):
    errors = collect_errors(chat_page)
    other = imported([], "Elsewhere", "hi", "hello", base=chat_server.base)["session_id"]
    box = chat_page.locator("#message-input")
    open_app(chat_page)
    sid = queue_during_a_run(chat_page, fake_llm, "Run while I look away", "Kept for later")

    row(chat_page, other).locator(".session-open").click()
    expect(chat_page.locator("#chat-title")).to_have_text("Elsewhere")
    expect(chat_page.locator("#queued")).to_be_hidden()
    expect(chat_page.locator("#queued")).to_have_text("")
    expect(box).to_have_value("")

    row(chat_page, sid).locator(".session-open").click()
    expect(box).to_have_value("Kept for later")
    shows_the_whole_answer(chat_page)
    expect(box).to_have_value("Kept for later")
    never_sent(chat_server, sid, "Run while I look away", "Kept for later")
    assert errors.uncaught == [] and errors.console == []


def test_reload_keeps_the_queued_message_as_the_draft(chat_page, chat_server, fake_llm):
    errors = collect_errors(chat_page)
    box = chat_page.locator("#message-input")
    open_app(chat_page)
    sid = queue_during_a_run(chat_page, fake_llm, "Run through a reload", "Queued before reload")

    chat_page.reload()
    wait_until_loaded(chat_page)

    expect(box).to_have_value("Queued before reload")
    expect(chat_page.locator("#queued")).to_be_hidden()
    shows_the_whole_answer(chat_page)
    expect(box).to_have_value("Queued before reload")
    never_sent(chat_server, sid, "Run through a reload", "Queued before reload")
    assert errors.uncaught == [] and errors.console == []
