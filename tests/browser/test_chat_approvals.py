"""Approving and denying a command from the chat pane: the model asks to run a terminal
command that is not on the allowlist, the run waits, and the answer given in the page decides
whether the command runs."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.chat_support import (
    WAIT,
    open_app,
    say,
    session_with,
    stored_messages,
)
from tests.browser.pages import collect_errors
from tests.fakes.openai_server import Reply


def ask_to_run(chat_page, fake_llm, command: str, question: str, answer: str):
    fake_llm.script(Reply.tool_calls([("terminal", {"command": command})]), Reply.text(answer))
    open_app(chat_page)
    say(chat_page, question)
    card = chat_page.get_by_role("group", name="Approval needed")
    expect(card).to_be_visible()
    expect(card.locator("pre")).to_have_text(command)
    expect(chat_page.locator("#stop-button")).to_be_visible()
    return card


def test_allow_once_runs_the_command_and_the_answer_continues(chat_page, chat_server, fake_llm):
    errors = collect_errors(chat_page)
    target = chat_server.workspace / "allowed-once.txt"
    card = ask_to_run(
        chat_page, fake_llm, "touch allowed-once.txt", "Please create the file", "Created it."
    )
    assert not target.exists(), "nothing runs before the answer"

    card.get_by_role("button", name="Allow once").click()

    expect(chat_page.locator("#messages .msg-assistant").last).to_contain_text(
        "Created it.", timeout=WAIT
    )
    expect(chat_page.locator("#stop-button")).to_be_hidden(timeout=WAIT)
    assert target.is_file()
    tool = chat_page.locator("#messages .tool-card")
    expect(tool).to_have_count(1)
    expect(tool.locator(".tool-name")).to_have_text("Tool: terminal")
    expect(tool).not_to_have_class(re.compile(r"\bis-error\b"))
    messages = stored_messages(chat_server, session_with(chat_server, "Please create the file"))
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant"]
    assert "exit code 0" in messages[2]["content"]
    assert messages[3]["content"] == "Created it."
    assert errors.uncaught == [] and errors.console == []


def test_deny_keeps_the_command_from_running_and_the_run_ends_normally(
    chat_page, chat_server, fake_llm
):
    errors = collect_errors(chat_page)
    target = chat_server.workspace / "denied.txt"
    card = ask_to_run(
        chat_page, fake_llm, "touch denied.txt", "Please try the file", "I asked to run it."
    )

    card.get_by_role("button", name="Deny").click()

    expect(chat_page.locator("#messages .msg-assistant").last).to_contain_text(
        "I asked to run it.", timeout=WAIT
    )
    expect(chat_page.locator("#stop-button")).to_be_hidden(timeout=WAIT)
    assert not target.exists()
    expect(chat_page.locator("#messages .tool-card")).to_have_count(1)
    messages = stored_messages(chat_server, session_with(chat_server, "Please try the file"))
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant"]
    assert "denied" in messages[2]["content"]
    assert messages[3]["content"] == "I asked to run it."
    chat_page.reload()
    stored_card = chat_page.locator("#messages .tool-card")
    expect(stored_card.locator(".tool-state")).to_have_text(re.compile(r"^failed in \d"))
    expect(stored_card).to_have_class(re.compile(r"\bis-error\b"))
    assert errors.uncaught == [] and errors.console == []


def test_an_answered_approval_stays_answered_after_a_reload_mid_run(
    chat_page, chat_server, fake_llm
):
    errors = collect_errors(chat_page)
    slow = "Done. " + " ".join(f"step{i}" for i in range(60))
    fake_llm.script(
        Reply.tool_calls([("terminal", {"command": "touch reloaded.txt"})]),
        Reply.text(slow, delay=0.1),
    )
    open_app(chat_page)
    say(chat_page, "Create it, then explain at length")
    card = chat_page.get_by_role("group", name="Approval needed")
    card.get_by_role("button", name="Allow once").click()
    expect(card.locator(".approval-answer")).to_have_text("Answered: Allow once")
    expect(chat_page.locator("#messages .msg-assistant").last).to_contain_text("step1")

    chat_page.reload()

    replayed = chat_page.get_by_role("group", name="Approval needed")
    expect(replayed).to_have_count(1)
    expect(replayed.locator(".approval-answer")).to_have_text("Answered: Allow once")
    expect(replayed.get_by_role("button")).to_have_count(0)
    expect(chat_page.locator("#stop-button")).to_be_visible()
    expect(chat_page.locator("#messages .msg-assistant").last).to_contain_text(
        "step59", timeout=WAIT
    )
    assert (chat_server.workspace / "reloaded.txt").is_file()
    assert errors.uncaught == []
