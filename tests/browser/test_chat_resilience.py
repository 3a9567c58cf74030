"""The chat pane when things get long or go wrong: dropped event streams, runs that vanished,
and conversations too long to load at once."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.chat_support import (
    ANSWERS,
    WAIT,
    open_app,
    say,
    session_with,
    stored_messages,
    visible_turns,
    wait_for_partial,
    words,
)
from tests.browser.pages import collect_errors
from tests.fakes.openai_server import Reply
from tests.support import request

STREAM_URL = re.compile(r"/api/chat/stream\?")

# Keeps every EventSource the page opens reachable, so a test can cut one.
KEEP_EVENT_SOURCES = """
(() => {
  const Native = window.EventSource;
  window.__eventSources = [];
  window.EventSource = class extends Native {
    constructor(...args) {
      super(...args);
      window.__eventSources.push(this);
    }
  };
})();
"""
# What the page sees when the browser gives up on a connection: it is closed, then "error".
DROP_CONNECTION = """() => {
  const source = window.__eventSources[window.__eventSources.length - 1];
  source.close();
  source.dispatchEvent(new Event("error"));
}"""


def test_a_dropped_stream_shows_reconnecting_and_resumes_without_repeating_text(
    chat_page, chat_server, fake_llm
):
    errors = collect_errors(chat_page)
    answer = words("swell", 60)
    fake_llm.script(Reply.text(answer, delay=0.08))
    chat_page.add_init_script(KEEP_EVENT_SOURCES)
    opened: list[str] = []

    def refuse_first_reopen(route):
        opened.append(route.request.url)
        if len(opened) == 2:
            route.fulfill(status=503, body="restarting")
        else:
            route.continue_()

    chat_page.route(STREAM_URL, refuse_first_reopen)
    open_app(chat_page)
    say(chat_page, "Survive a drop")
    wait_for_partial(chat_page, "swell3", "swell59")

    chat_page.evaluate(DROP_CONNECTION)
    status = chat_page.locator("#messages .msg-assistant.is-live .run-status")
    expect(status).to_have_text("Reconnecting…")
    expect(chat_page.locator("#stop-button")).to_be_visible()

    expect(chat_page.locator(ANSWERS).last).to_have_text(answer, timeout=30_000)
    text = chat_page.locator("#messages").inner_text()
    assert text.count("swell0 ") == 1 and text.count("swell59") == 1
    assert len(opened) == 3, opened
    assert "after=" not in opened[0]
    resumed = [re.search(r"after=[0-9a-f]+%3A(\d+)", url) for url in opened[1:]]
    assert all(resumed) and int(resumed[0].group(1)) > 0, "resumes after the last event seen"
    sid = session_with(chat_server, "Survive a drop")
    assert [m["content"] for m in stored_messages(chat_server, sid)] == ["Survive a drop", answer]
    assert errors.uncaught == []


def test_when_the_run_is_gone_the_page_shows_what_the_server_saved(
    chat_page, chat_server, fake_llm
):
    errors = collect_errors(chat_page)
    fake_llm.script(Reply.text("Saved while you were away."))
    chat_page.route(STREAM_URL, lambda route: route.fulfill(status=404, body="{}"))
    chat_page.route(
        re.compile(r"/api/chat/stream/status\?"),
        lambda route: route.fulfill(
            status=200,
            content_type="application/json",
            body='{"active": false, "stream_id": "x", "finished": false}',
        ),
    )
    open_app(chat_page)
    say(chat_page, "Lose the stream")

    expect(chat_page.locator("#notice")).to_have_text(
        "Lost the connection to the run; showing what was saved."
    )
    expect(chat_page.locator(ANSWERS)).to_have_text("Saved while you were away.")
    expect(chat_page.locator("#stop-button")).to_be_hidden(timeout=WAIT)
    assert visible_turns(chat_page) == [
        ("user", "Lose the stream"),
        ("assistant", "Saved while you were away."),
    ]
    assert errors.uncaught == []


def test_older_messages_load_on_scrolling_up_in_place_and_once(chat_page, chat_server):
    errors = collect_errors(chat_page)
    messages = []
    for i in range(150):
        messages += [
            {"role": "user", "content": f"Question {i}"},
            {"role": "assistant", "content": f"Answer {i}"},
        ]
    imported = request(
        chat_server.base,
        "POST",
        "/api/session/import",
        {"title": "A long talk", "messages": messages},
    )
    sid = imported.json["session"]["session_id"]
    held = []
    pages: list[str] = []

    def hold_older_pages(route):
        pages.append(route.request.url)
        held.append(route)

    chat_page.route(re.compile(r"/api/session\?.*msg_before="), hold_older_pages)
    open_app(chat_page, f"#session={sid}")
    log = chat_page.locator("#messages")
    expect(log.locator(".msg")).to_have_count(100)
    expect(log.locator(".msg .bubble-body").last).to_have_text("Answer 149")
    expect(chat_page.get_by_text("Earlier messages are not shown.")).to_have_count(0)

    log.evaluate("node => { node.scrollTop = 0; }")
    expect(chat_page.get_by_text("Loading earlier messages…")).to_be_visible()
    first_shown = log.locator(".msg").first
    expect(first_shown).to_have_text("Question 100")
    before = first_shown.bounding_box()["y"]
    log.evaluate("node => { node.scrollTop = 1; node.scrollTop = 0; }")
    assert len(pages) == 1, "no second request while one is loading"
    held.pop().continue_()

    expect(log.locator(".msg")).to_have_count(200, timeout=WAIT)
    anchor = log.locator(".msg", has_text=re.compile(r"^Question 100$"))
    assert abs(anchor.bounding_box()["y"] - before) < 2, "what was on screen stays in place"

    chat_page.unroute(re.compile(r"/api/session\?.*msg_before="))
    held.clear()
    log.evaluate("node => { node.scrollTop = 0; }")
    expect(log.locator(".msg")).to_have_count(300, timeout=WAIT)
    log.evaluate("node => { node.scrollTop = 0; }")
    expect(chat_page.get_by_text("Question 0", exact=True)).to_be_in_viewport()
    expect(chat_page.get_by_role("button", name="Load earlier messages")).to_have_count(0)

    expected = [(m["role"], m["content"]) for m in stored_messages(chat_server, sid)]
    assert visible_turns(chat_page) == expected
    assert [re.search(r"msg_before=(\d+)", url).group(1) for url in pages] == ["200"]
    assert errors.uncaught == [] and errors.console == []
