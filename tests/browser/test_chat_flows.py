"""The chat pane in a real browser against a server whose model is the scripted fake: streaming,
reloads mid-run, stop, retry, undo, editing the last message, queued messages and errors.
Each test checks what the page shows and what the server stored."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.chat_support import (
    ANSWERS,
    WAIT,
    exchange,
    open_app,
    say,
    session_with,
    stored_messages,
    visible_turns,
    wait_for_partial,
    words,
)
from tests.browser.pages import HeldRequests, collect_errors, wait_until_loaded
from tests.fakes.openai_server import Reply
from tests.support import request


def roles_and_text(messages: list[dict]) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in messages]


def test_reply_streams_in_before_the_run_ends_and_stop_shows_only_meanwhile(
    chat_page, chat_server, fake_llm
):
    errors = collect_errors(chat_page)
    answer = words("tide", 40)
    fake_llm.script(Reply.text(answer, delay=0.08))
    open_app(chat_page)
    stop = chat_page.locator("#stop-button")
    expect(stop).to_be_hidden()

    say(chat_page, "Stream the tides")
    expect(stop).to_be_visible()
    partial = wait_for_partial(chat_page, "tide2", "tide39")
    assert partial.startswith("tide0 tide1 tide2")

    expect(chat_page.locator(ANSWERS).last).to_have_text(answer, timeout=WAIT)
    expect(stop).to_be_hidden()
    assert visible_turns(chat_page) == [("user", "Stream the tides"), ("assistant", answer)]
    sid = session_with(chat_server, "Stream the tides")
    assert roles_and_text(stored_messages(chat_server, sid)) == [
        ("user", "Stream the tides"),
        ("assistant", answer),
    ]
    assert errors.uncaught == [] and errors.console == []


def test_reload_mid_stream_reattaches_and_shows_every_message_once(
    chat_page, chat_server, fake_llm
):
    errors = collect_errors(chat_page)
    answer = words("reef", 120)
    fake_llm.script(Reply.text("Earlier answer."), Reply.text(answer, delay=0.08))
    open_app(chat_page)
    say(chat_page, "First of two")
    expect(chat_page.locator(ANSWERS)).to_have_text("Earlier answer.")
    say(chat_page, "Second of two")
    wait_for_partial(chat_page, "reef3", "reef119")

    chat_page.reload()
    expect(chat_page.locator("#stop-button")).to_be_visible()
    replayed = wait_for_partial(chat_page, "reef", "reef119")
    assert replayed.startswith("reef0 reef1") and replayed.count("reef0 ") == 1
    assert visible_turns(chat_page)[:3] == [
        ("user", "First of two"),
        ("assistant", "Earlier answer."),
        ("user", "Second of two"),
    ], "while the run is live, the earlier exchange and the pending message are shown once"
    expect(chat_page.get_by_role("button", name="Edit your last message")).to_have_count(0)
    expect(chat_page.locator(ANSWERS).last).to_have_text(answer, timeout=WAIT)
    expect(chat_page.locator("#stop-button")).to_be_hidden(timeout=WAIT)

    assert visible_turns(chat_page) == [
        ("user", "First of two"),
        ("assistant", "Earlier answer."),
        ("user", "Second of two"),
        ("assistant", answer),
    ]
    text = chat_page.locator("#messages").inner_text()
    assert text.count("reef0 ") == 1 and text.count("reef119") == 1
    sid = session_with(chat_server, "First of two")
    assert roles_and_text(stored_messages(chat_server, sid)) == [
        ("user", "First of two"),
        ("assistant", "Earlier answer."),
        ("user", "Second of two"),
        ("assistant", answer),
    ]
    assert errors.uncaught == []


SESSION_READ = re.compile(r"/api/session\?")

# Every element of the pane whose text, border or background is the danger or error colour.
RED_ELEMENTS = """() => {
  const probe = document.createElement('div');
  probe.style.color = 'var(--danger)';
  probe.style.backgroundColor = 'var(--error-bg)';
  document.body.append(probe);
  const red = new Set([getComputedStyle(probe).color, getComputedStyle(probe).backgroundColor]);
  probe.remove();
  return [...document.querySelectorAll('#messages *')].filter((node) => {
    const style = getComputedStyle(node);
    return [style.color, style.borderTopColor, style.backgroundColor].some((c) => red.has(c));
  }).map((node) => node.outerHTML.slice(0, 120));
}"""


def shows_a_calm_stop(page, first_words: str) -> list[tuple[str, str]]:
    """Checks the pane shows a stopped turn as a note, not an error; returns its turns."""
    partial = page.locator("#messages .msg-assistant.is-partial")
    expect(partial).to_have_count(1)
    expect(partial.locator(".partial-marker")).to_have_text("Stopped — partial answer")
    expect(partial).to_contain_text(first_words)
    expect(page.locator("#messages .stopped-marker")).to_have_text("Stopped")
    expect(page.get_by_role("note").filter(has_text="Stopped")).to_have_count(1)
    for error in (".error-marker", ".is-error", ".run-error", "[role=alert]"):
        expect(page.locator(f"#messages {error}")).to_have_count(0)
    assert page.evaluate(RED_ELEMENTS) == []
    return visible_turns(page)


@pytest.mark.parametrize("how", ["button", "escape"])
def test_stop_keeps_the_partial_answer_and_notes_the_stop_calmly_live_and_after_reload(
    chat_page, chat_server, fake_llm, how
):
    errors = collect_errors(chat_page)
    fake_llm.script(Reply.text(words("gull", 200), delay=0.1))
    open_app(chat_page)
    question = f"Stop me by {how}"
    say(chat_page, question)
    wait_for_partial(chat_page, "gull2", "gull199")
    saved = HeldRequests(chat_page, SESSION_READ)  # the pane shows only the live view meanwhile

    if how == "button":
        chat_page.locator("#stop-button").click()
    else:
        chat_page.locator("#message-input").press("Escape")

    expect(chat_page.locator("#stop-button")).to_be_hidden(timeout=WAIT)
    saved.wait()
    live = shows_a_calm_stop(chat_page, "gull0 gull1 gull2")
    saved.release()
    expect(chat_page.locator("#messages .is-live")).to_have_count(0)
    assert shows_a_calm_stop(chat_page, "gull0 gull1 gull2") == live
    chat_page.reload()
    wait_until_loaded(chat_page)
    assert shows_a_calm_stop(chat_page, "gull0 gull1 gull2") == live

    messages = stored_messages(chat_server, session_with(chat_server, question))
    assert [m["role"] for m in messages] == ["user", "assistant", "assistant"]
    assert messages[1]["_partial"] is True and messages[1]["_stopped"] is True
    assert messages[1]["content"].startswith("gull0 gull1 gull2")
    assert "gull199" not in messages[1]["content"]
    assert messages[2]["content"] == "Stopped." and messages[2]["_stopped"] is True
    assert "_error" not in messages[2]
    assert errors.uncaught == []


def test_retry_replaces_the_last_answer_with_a_new_one(chat_page, chat_server, fake_llm):
    errors = collect_errors(chat_page)
    fake_llm.script(Reply.text("The first try."), Reply.text("The second try."))
    open_app(chat_page)
    say(chat_page, "Answer twice")
    expect(chat_page.locator(ANSWERS)).to_have_text("The first try.")

    chat_page.locator("#retry-button").click()

    expect(chat_page.locator(ANSWERS)).to_have_text("The second try.")
    assert visible_turns(chat_page) == [("user", "Answer twice"), ("assistant", "The second try.")]
    sid = session_with(chat_server, "Answer twice")
    assert roles_and_text(stored_messages(chat_server, sid)) == [
        ("user", "Answer twice"),
        ("assistant", "The second try."),
    ]
    assert errors.uncaught == [] and errors.console == []


def test_undo_removes_the_last_exchange_from_the_page_and_the_session(
    chat_page, chat_server, fake_llm
):
    errors = collect_errors(chat_page)
    fake_llm.script(Reply.text("Kept answer."), Reply.text("Removed answer."))
    open_app(chat_page)
    say(chat_page, "Keep this")
    expect(chat_page.locator(ANSWERS)).to_have_text("Kept answer.")
    say(chat_page, "Drop this")
    expect(chat_page.locator(ANSWERS).last).to_have_text("Removed answer.")

    chat_page.locator("#undo-button").click()

    expect(chat_page.locator("#messages .msg")).to_have_count(2)
    assert visible_turns(chat_page) == [("user", "Keep this"), ("assistant", "Kept answer.")]
    sid = session_with(chat_server, "Keep this")
    assert roles_and_text(stored_messages(chat_server, sid)) == [
        ("user", "Keep this"),
        ("assistant", "Kept answer."),
    ]
    assert errors.uncaught == [] and errors.console == []


def test_editing_the_last_message_resends_it_in_place_of_the_old_exchange(
    chat_page, chat_server, fake_llm
):
    errors = collect_errors(chat_page)
    fake_llm.script(
        Reply.text("Answer one."), Reply.text("Old answer."), Reply.text(words("fresh", 30))
    )
    open_app(chat_page)
    say(chat_page, "Question one")
    expect(chat_page.locator(ANSWERS)).to_have_text("Answer one.")
    say(chat_page, "Question too")
    expect(chat_page.locator(ANSWERS).last).to_have_text("Old answer.")
    edit = chat_page.locator("#messages .msg-user").last.get_by_role(
        "button", name="Edit your last message"
    )
    expect(edit).to_be_visible()
    expect(chat_page.get_by_role("button", name="Edit your last message")).to_have_count(1)

    edit.click()
    editor = chat_page.get_by_role("textbox", name="Edit your message")
    expect(editor).to_have_value("Question too")
    editor.press("Escape")
    expect(editor).to_have_count(0)
    assert visible_turns(chat_page)[-2:] == [("user", "Question too"), ("assistant", "Old answer.")]

    edit.click()
    editor.fill("Question two, edited")
    editor.press("Enter")

    expect(chat_page.locator(ANSWERS).last).to_have_text(words("fresh", 30), timeout=WAIT)
    assert visible_turns(chat_page) == [
        ("user", "Question one"),
        ("assistant", "Answer one."),
        ("user", "Question two, edited"),
        ("assistant", words("fresh", 30)),
    ]
    sid = session_with(chat_server, "Question one")
    assert roles_and_text(stored_messages(chat_server, sid)) == visible_turns(chat_page)
    sent = [(m["role"], m["content"]) for m in fake_llm.requests[-1]["messages"][1:]]
    assert sent == [
        ("user", "Question one"),
        ("assistant", "Answer one."),
        ("user", "Question two, edited"),
    ]
    assert errors.uncaught == [] and errors.console == []


def test_arrow_up_in_an_empty_box_edits_the_last_message(chat_page, fake_llm):
    errors = collect_errors(chat_page)
    fake_llm.script(Reply.text("Noted."))
    open_app(chat_page)
    box = chat_page.locator("#message-input")
    box.press("ArrowUp")
    expect(chat_page.get_by_role("textbox", name="Edit your message")).to_have_count(0)
    exchange(chat_page, "Remember the milk", "Noted.")

    box.fill("not empty")
    box.press("ArrowUp")
    expect(chat_page.get_by_role("textbox", name="Edit your message")).to_have_count(0)
    box.fill("")
    box.press("ArrowUp")
    editor = chat_page.get_by_role("textbox", name="Edit your message")
    expect(editor).to_be_focused()
    expect(editor).to_have_value("Remember the milk")
    editor.press("Escape")
    expect(editor).to_have_count(0)
    assert errors.uncaught == [] and errors.console == []


def test_edit_control_is_hidden_while_a_run_is_live(chat_page, fake_llm):
    fake_llm.script(Reply.text("Short."), Reply.text(words("slow", 40), delay=0.08))
    open_app(chat_page)
    say(chat_page, "Edit me later")
    edit = chat_page.get_by_role("button", name="Edit your last message")
    expect(edit).to_be_visible()
    say(chat_page, "A slow one")
    wait_for_partial(chat_page, "slow1", "slow39")
    expect(edit).to_have_count(0)
    expect(chat_page.locator("#messages .edit-button:visible")).to_have_count(0)
    expect(chat_page.locator("#stop-button")).to_be_hidden(timeout=WAIT)
    expect(edit).to_be_visible()
    expect(chat_page.locator("#messages .msg-user").last.locator(".edit-button")).to_be_visible()


def test_a_message_sent_mid_run_is_queued_and_sent_after_the_answer(
    chat_page, chat_server, fake_llm
):
    errors = collect_errors(chat_page)
    first = words("wave", 30)
    fake_llm.script(Reply.text(first, delay=0.08), Reply.text("Second answer."))
    open_app(chat_page)
    say(chat_page, "Queue first")
    wait_for_partial(chat_page, "wave1", "wave29")

    say(chat_page, "Queue second")
    queued = chat_page.locator("#queued")
    expect(queued).to_be_visible()
    expect(queued).to_have_text("1 message queued; sent when this answer ends")

    expect(chat_page.locator(ANSWERS).last).to_have_text("Second answer.", timeout=WAIT)
    expect(queued).to_be_hidden(timeout=WAIT)
    expected = [
        ("user", "Queue first"),
        ("assistant", first),
        ("user", "Queue second"),
        ("assistant", "Second answer."),
    ]
    assert visible_turns(chat_page) == expected
    sid = session_with(chat_server, "Queue first")
    assert roles_and_text(stored_messages(chat_server, sid)) == expected
    assert errors.uncaught == [] and errors.console == []


def test_a_new_chat_mid_run_clears_the_note_and_keeps_the_queued_message_as_a_draft(
    chat_page, chat_server, fake_llm
):
    errors = collect_errors(chat_page)
    fake_llm.script(Reply.text(words("swell", 40), delay=0.08))
    open_app(chat_page)
    say(chat_page, "Run long")
    wait_for_partial(chat_page, "swell1", "swell39")
    say(chat_page, "Not sent yet")
    queued = chat_page.locator("#queued")
    expect(queued).to_have_text("1 message queued; sent when this answer ends")

    chat_page.get_by_role("button", name="New chat").click()
    expect(queued).to_be_hidden()
    expect(queued).to_have_text("")
    expect(chat_page.locator("#message-input")).to_have_value("")

    chat_page.go_back()
    expect(chat_page.locator("#chat-title")).not_to_have_text("New chat")
    expect(chat_page.locator("#message-input")).to_have_value("Not sent yet")
    expect(chat_page.locator(ANSWERS).last).to_have_text(words("swell", 40), timeout=WAIT)
    expect(chat_page.locator("#stop-button")).to_be_hidden()
    messages = stored_messages(chat_server, session_with(chat_server, "Run long"))
    assert [m["content"] for m in messages if m["role"] == "user"] == ["Run long"]
    assert errors.uncaught == [] and errors.console == []


PROVIDER_FAILURES = {
    "server-error": (Reply.error(500, "The upstream model crashed"), "Error:", None),
    "quota": (
        Reply.error(429, "You exceeded your current quota"),
        "Out of credits:",
        "Add credit with your provider, or switch to another provider in Settings.",
    ),
}


@pytest.mark.parametrize("failure", PROVIDER_FAILURES)
def test_a_provider_error_shows_the_error_marker_with_its_hint(
    chat_page, chat_server, fake_llm, failure
):
    reply, label, hint = PROVIDER_FAILURES[failure]
    errors = collect_errors(chat_page)
    fake_llm.script(reply)
    open_app(chat_page)
    question = f"Fail with {label}"
    say(chat_page, question)

    marker = chat_page.locator("#messages .msg.is-error .error-marker")
    expect(marker).to_be_visible()
    expect(marker.locator("strong")).to_have_text(label)
    if hint:
        expect(marker.locator("em")).to_have_text(hint)
    else:
        expect(marker).to_contain_text("The upstream model crashed")
    expect(chat_page.locator("#stop-button")).to_be_hidden(timeout=WAIT)
    messages = stored_messages(chat_server, session_with(chat_server, question))
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[1]["_error"] is True
    assert label.rstrip(":") in messages[1]["content"]
    assert errors.uncaught == []


def test_usage_indicator_shows_tokens_and_context_after_a_turn(chat_page, chat_server, fake_llm):
    errors = collect_errors(chat_page)
    fake_llm.script(Reply.text("Counted.", usage=(1234, 56)))
    open_app(chat_page)
    usage = chat_page.get_by_role("group", name="Usage of this conversation")
    expect(usage).to_be_hidden()

    say(chat_page, "Count my tokens")
    expect(chat_page.locator(ANSWERS)).to_have_text("Counted.")
    expect(usage).to_be_visible()
    expect(usage.locator(".usage-tokens")).to_have_text("Tokens: 1.2k in · 56 out")
    meter = usage.get_by_role("meter", name="Context window used")
    sid = session_with(chat_server, "Count my tokens")
    stats = request(chat_server.base, "GET", f"/api/session/usage?session_id={sid}").json
    assert stats["input_tokens"] == 1234 and stats["output_tokens"] == 56
    percent = round(stats["context_tokens"] / stats["context_length"] * 100)
    detail = f"{stats['context_tokens']:,} of {stats['context_length']:,} tokens"
    expect(meter).to_have_attribute("aria-valuetext", f"{percent}% ({detail})")
    expect(usage.locator(".usage-percent")).to_have_text(f"{percent}% context")

    chat_page.reload()
    expect(usage.locator(".usage-tokens")).to_have_text("Tokens: 1.2k in · 56 out")
    assert errors.uncaught == [] and errors.console == []
