"""The model picker in the chat header: each conversation keeps its own model, a retry can use
another one, and "Default" follows the model in the settings."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.chat_support import (
    ANSWERS,
    exchange,
    open_app,
    session_with,
    stored_messages,
)
from tests.browser.pages import HeldRequests, collect_errors, wait_until_loaded
from tests.fakes.openai_server import Reply
from tests.support import read_events, request

OTHER = "fake-large"


def teach_the_provider(server, fake) -> None:
    """The fake lists the models it was asked for, so one turn makes OTHER one of them."""
    sid = request(server.base, "POST", "/api/session/new", {}).json["session"]["session_id"]
    fake.script(Reply.text("ok"))
    body = {"session_id": sid, "message": "hello", "model": OTHER}
    reply = request(server.base, "POST", "/api/chat/start", body)
    assert reply.status == 200, reply.body
    read_events(server.base, reply.json["stream_id"])
    assert OTHER in fake.models_seen()


def answer(page, fake, text: str) -> str:
    """Sends `text`, waits for the scripted answer and returns the model it was asked of."""
    fake.script(Reply.text(f"Answer to {text}"))
    exchange(page, text, f"Answer to {text}")
    return fake.requests[-1]["model"]


def test_each_conversation_keeps_the_model_picked_for_it(chat_page, chat_server, fake_llm):
    errors = collect_errors(chat_page)
    teach_the_provider(chat_server, fake_llm)
    picker = chat_page.get_by_label("Model for this conversation")
    open_app(chat_page)
    expect(picker).to_have_value("")
    expect(picker.locator("option").first).to_have_text("Default (fake-model)")
    expect(picker.locator(f'option[value="{OTHER}"]')).to_have_count(1)
    assert answer(chat_page, fake_llm, "first on the default") == "fake-model"

    picker.select_option(OTHER)
    assert answer(chat_page, fake_llm, "then on the large one") == OTHER
    sid = session_with(chat_server, "then on the large one")
    chat_page.reload()
    wait_until_loaded(chat_page)
    expect(picker).to_have_value(OTHER)

    chat_page.get_by_role("button", name="New chat").click()
    expect(picker).to_have_value("")
    chat_page.goto(f"/#session={sid}")
    chat_page.reload()
    wait_until_loaded(chat_page)
    expect(picker).to_have_value(OTHER)
    picker.select_option("")
    assert answer(chat_page, fake_llm, "back to the default") == "fake-model"
    reply = request(chat_server.base, "GET", f"/api/session?session_id={sid}")
    assert reply.json["session"]["model"] == ""
    assert len(stored_messages(chat_server, sid)) == 6
    assert errors.uncaught == [] and errors.console == []


def test_retry_with_another_model_uses_the_one_just_picked(chat_page, chat_server, fake_llm):
    errors = collect_errors(chat_page)
    teach_the_provider(chat_server, fake_llm)
    picker = chat_page.get_by_label("Model for this conversation")
    open_app(chat_page)
    assert answer(chat_page, fake_llm, "try me twice") == "fake-model"

    picker.select_option(OTHER)
    fake_llm.script(Reply.text("A second opinion."))
    chat_page.locator("#retry-button").click()
    expect(chat_page.locator(ANSWERS).last).to_have_text("A second opinion.")
    expect(chat_page.locator("#stop-button")).to_be_hidden()
    assert fake_llm.requests[-1]["model"] == OTHER
    expect(picker).to_have_value(OTHER)
    assert errors.uncaught == [] and errors.console == []


def test_a_pick_made_as_a_new_chat_gets_its_id_is_kept(chat_page, chat_server, fake_llm):
    """The first answer of a new chat is followed by a redraw of the now stored conversation;
    a model picked before that redraw lands is the one the next message goes to."""
    teach_the_provider(chat_server, fake_llm)
    picker = chat_page.get_by_label("Model for this conversation")
    open_app(chat_page)
    held = HeldRequests(chat_page, "**/api/session?*")
    assert answer(chat_page, fake_llm, "a first word") == "fake-model"
    held.wait()  # the redraw's request, not yet answered

    picker.select_option(OTHER)
    chat_page.evaluate("document.querySelector('#messages .msg-assistant').dataset.before = '1'")
    held.release()
    expect(chat_page.locator("#messages .msg-assistant[data-before]")).to_have_count(0)
    expect(picker).to_have_value(OTHER)
    assert answer(chat_page, fake_llm, "a second word") == OTHER
