"""Reading further up a long chat: a "Latest" button appears and leads back to the end."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.chat_support import exchange, open_app, words
from tests.browser.pages import collect_errors
from tests.fakes.openai_server import Reply
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


BELOW_PANE = """() => {
  const pane = document.querySelector('#messages').getBoundingClientRect();
  const answer = [...document.querySelectorAll('#messages .msg-assistant')].pop();
  const body = answer.querySelector('.bubble-body');
  const walker = document.createTreeWalker(body, NodeFilter.SHOW_TEXT);
  let text = null;
  while (walker.nextNode()) if (walker.currentNode.textContent.trim()) text = walker.currentNode;
  const range = document.createRange();
  range.selectNodeContents(text);
  const lines = [...range.getClientRects()];
  return {
    lastLine: lines[lines.length - 1].bottom - pane.bottom,
    message: answer.getBoundingClientRect().bottom - pane.bottom,
  };
}"""
"""How far the last line of text of the last answer, and that answer with the controls under
it, reach below the bottom of the message pane (negative: above it)."""


@pytest.mark.parametrize("viewport", [(1280, 800), (375, 667)], ids=["desktop", "phone"])
def test_after_a_turn_the_last_line_of_a_long_answer_is_inside_the_pane(
    chat_page, fake_llm, viewport
):
    errors = collect_errors(chat_page)
    chat_page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    paragraphs = [words(f"line{i}w", 12) for i in range(30)]
    fake_llm.script(Reply.text("\n\n".join(paragraphs)))
    open_app(chat_page)

    exchange(chat_page, "Tell me a long story", "".join(paragraphs))
    expect(chat_page.get_by_role("button", name="Edit your last message")).to_be_visible()
    log = chat_page.locator("#messages")
    expect(log.get_by_text(paragraphs[-1])).to_be_in_viewport()
    below = chat_page.evaluate(BELOW_PANE)
    assert below["lastLine"] <= 0 and below["message"] <= 0, below
    expect(log.get_by_role("button", name="Copy this answer")).to_be_in_viewport(ratio=1)
    assert log.evaluate(DISTANCE_TO_END) < 1
    expect(chat_page.get_by_role("button", name="↓ Latest")).to_be_hidden()
    assert errors.uncaught == [] and errors.console == []
