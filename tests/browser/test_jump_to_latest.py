"""Reading further up a long chat: a "Latest" button appears and leads back to the end."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.chat_support import open_app
from tests.browser.pages import collect_errors
from tests.support import request

DISTANCE_TO_END = "n => n.scrollHeight - n.scrollTop - n.clientHeight"


def test_the_latest_button_shows_only_away_from_the_end_and_scrolls_back(chat_page, chat_server):
    errors = collect_errors(chat_page)
    messages = []
    for i in range(40):
        messages.append({"role": "user", "content": f"Question {i}"})
        messages.append({"role": "assistant", "content": f"Answer {i}\n\nwith a second paragraph"})
    imported = request(
        chat_server.base, "POST", "/api/session/import", {"title": "Long", "messages": messages}
    )
    sid = imported.json["session"]["session_id"]
    open_app(chat_page, f"#session={sid}")
    log = chat_page.locator("#messages")
    latest = chat_page.get_by_role("button", name="↓ Latest")
    expect(log.get_by_text("Answer 39")).to_be_in_viewport()
    expect(latest).to_be_hidden()

    log.evaluate("n => { n.scrollTop = n.scrollHeight / 2; }")
    expect(latest).to_be_visible()
    latest.click()
    expect(latest).to_be_hidden()
    expect(log.get_by_text("Answer 39")).to_be_in_viewport()
    assert log.evaluate(DISTANCE_TO_END) < 5
    assert errors.uncaught == [] and errors.console == []
