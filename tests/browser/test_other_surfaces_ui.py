"""A terminal conversation in the browser: listed with its badge, opened, and continued."""

from __future__ import annotations

from hermes_state import SessionDB
from tests.browser.pages import wait_until_loaded
from tests.fakes.openai_server import Reply
from tests.support import request

TUI_ID = "20261121_111500_def456"


def test_a_terminal_conversation_is_listed_opened_and_continued(
    chat_page, chat_server, fake_llm, chat_page_errors
):
    db = SessionDB(chat_server.root / "hermes-home" / "state.db")
    try:
        db.create_session(TUI_ID, "tui", model="fake-model")
        db.set_session_title(TUI_ID, "Packing list for the island")
        db.append_message(TUI_ID, "user", "What should I pack for two days?")
        db.append_message(TUI_ID, "assistant", "A raincoat, boots and a thermos.")
    finally:
        db.close()

    chat_page.goto("/")
    wait_until_loaded(chat_page)
    row = chat_page.locator(f'.session[data-id="{TUI_ID}"]')
    assert "Terminal" in row.inner_text()
    row.locator(".session-open").click()
    chat_page.get_by_text("A raincoat, boots and a thermos.").wait_for()

    fake_llm.script(Reply.text("Add a torch as well."))
    chat_page.fill("#message-input", "Anything else?")
    chat_page.keyboard.press("Enter")
    chat_page.get_by_text("Add a torch as well.").wait_for()
    chat_page.locator("#stop-button").wait_for(state="hidden")

    stored = request(chat_server.base, "GET", f"/api/session?session_id={TUI_ID}").json["session"]
    assert stored.get("read_only") is not True, "it is a web session now"
    assert [m["content"] for m in stored["messages"]][-2:] == [
        "Anything else?",
        "Add a torch as well.",
    ]
    assert chat_page_errors.uncaught == []
