"""Branching in a real browser: "Branch" under an answer opens a new conversation holding the
transcript up to that answer, which goes on from there while the original stays as it was."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.chat_support import exchange, open_app, stored_messages, visible_turns
from tests.browser.pages import collect_errors
from tests.browser.sidebar_support import row
from tests.fakes.openai_server import Reply


def test_branching_from_an_earlier_answer_goes_on_from_there_and_keeps_the_original(
    chat_page, chat_server, fake_llm
):
    errors = collect_errors(chat_page)
    fake_llm.script(Reply.text("Alfama first."), Reply.text("Then Belém."))
    open_app(chat_page)
    exchange(chat_page, "Plan day one in Lisbon", "Alfama first.")
    exchange(chat_page, "And day two?", "Then Belém.")
    latest = chat_page.locator("#messages .msg-assistant").last
    expect(latest.get_by_role("button", name="Branch from this answer")).to_be_visible()
    original = re.search(r"session=(\w+)", chat_page.url).group(1)
    expect(chat_page.locator("#chat-title")).not_to_have_text("New chat")
    title = chat_page.locator("#chat-title").text_content()

    first_answer = chat_page.locator("#messages .msg-assistant").first
    first_answer.get_by_role("button", name="Branch from this answer").click()

    expect(chat_page.locator("#chat-title")).to_have_text(f"{title} (branch)")
    expect(chat_page).not_to_have_url(re.compile(f"session={original}"))
    branch = re.search(r"session=(\w+)", chat_page.url).group(1)
    assert visible_turns(chat_page) == [
        ("user", "Plan day one in Lisbon"),
        ("assistant", "Alfama first."),
    ]
    expect(row(chat_page, branch)).to_be_visible()
    expect(row(chat_page, original)).to_be_visible()

    fake_llm.script(Reply.text("Then Sintra."))
    exchange(chat_page, "And day two, by train?", "Then Sintra.")
    sent = [(m["role"], m["content"]) for m in fake_llm.requests[-1]["messages"][1:]]
    assert sent == [
        ("user", "Plan day one in Lisbon"),
        ("assistant", "Alfama first."),
        ("user", "And day two, by train?"),
    ], "the branch's model sees only what the branch holds"
    assert [m["content"] for m in stored_messages(chat_server, original)] == [
        "Plan day one in Lisbon",
        "Alfama first.",
        "And day two?",
        "Then Belém.",
    ]
    assert errors.uncaught == [] and errors.console == []
