"""A turn that delegates: the delegate_task call shows as a collapsed card titled with the
task, which opens to the task and the sub-agent's answer rendered as Markdown, live and after
a reload; the sub-agent's session is in state.db, linked to the conversation."""

from __future__ import annotations

from playwright.sync_api import expect

from hermes_state import SessionDB
from tests.browser.chat_support import (
    ANSWERS,
    WAIT,
    open_app,
    say,
    session_with,
    stored_messages,
)
from tests.browser.pages import collect_errors
from tests.fakes.openai_server import Reply

TASK = "Count the lighthouses on the coast\nList each with its year."
ANSWER = "There are **two** lighthouses:\n\n- North Light, 1874\n- South Light, 1902"


def test_a_delegated_task_shows_as_a_collapsed_card_that_opens_to_the_answer(
    chat_page, chat_server, fake_llm
):
    errors = collect_errors(chat_page)
    fake_llm.script(
        Reply.tool_calls([("delegate_task", {"task": TASK})]),
        Reply.text(ANSWER, delay=0.1),  # slow, so the card is seen while it runs
        Reply.text("The sub-agent found two lighthouses."),
    )
    open_app(chat_page)

    say(chat_page, "How many lighthouses?")
    live = chat_page.locator("#messages .msg-assistant.is-live .tool-card")
    expect(live.locator("summary")).to_contain_text("Sub-agent: Count the lighthouses on the coast")
    expect(live.locator(".tool-state")).to_have_text("running…")
    expect(chat_page.locator(ANSWERS).last).to_have_text(
        "The sub-agent found two lighthouses.", timeout=WAIT
    )
    expect(chat_page.locator("#stop-button")).to_be_hidden(timeout=WAIT)

    for reloaded in (False, True):
        if reloaded:
            chat_page.reload()
        card = chat_page.locator("#messages .tool-card")
        expect(card).to_have_count(1, timeout=WAIT)
        title = card.locator("summary .tool-name")
        expect(title).to_have_text("Sub-agent: Count the lighthouses on the coast")
        expect(card).not_to_have_attribute("open", "")
        answer = card.locator(".delegate-answer")
        expect(answer).to_be_hidden()

        title.click()

        expect(answer).to_be_visible()
        expect(answer.locator("strong")).to_have_text("two")
        expect(answer.locator("li")).to_have_text(["North Light, 1874", "South Light, 1902"])
        expect(answer).not_to_contain_text("sub-agent session")
        expect(card.locator(".delegate-task")).to_have_text(TASK)
    assert errors.uncaught == [] and errors.console == []

    sid = session_with(chat_server, "How many lighthouses")
    result = stored_messages(chat_server, sid)[2]["content"]
    child_id = result.rsplit("[sub-agent session: ", 1)[1].rstrip("]")
    with SessionDB(chat_server.root / "hermes-home" / "state.db") as db:
        child = db.get_session(child_id)
        assert child["source"] == "web"
        assert child["delegated_from"] == sid
        assert [m["content"] for m in db.get_messages(child_id)] == [TASK, ANSWER]
