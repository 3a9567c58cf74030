"""Searching the sidebar in a real browser: matches marked, where they matched, and the keys."""

from __future__ import annotations

import uuid

from playwright.sync_api import expect

from tests.browser.sidebar_support import imported, load_app, row

SEARCH = "#session-search"


def test_search_finds_a_word_only_in_a_message_marks_it_and_opens_that_session(
    page, page_errors, cleanup_test_sessions
):
    word = "zeppelin" + uuid.uuid4().hex[:6]
    found = imported(
        cleanup_test_sessions, "Plain travel notes", "first question", f"we took the {word} north"
    )
    imported(cleanup_test_sessions, "Unrelated chat", "nothing to see")
    load_app(page)

    page.get_by_label("Search conversations").fill(word.upper())
    rows = page.locator("#session-list .session")
    expect(rows).to_have_count(1)
    result = row(page, found["session_id"])
    expect(result.locator(".match-type")).to_have_text("Message match")
    expect(result.locator(".session-snippet mark")).to_have_text(word)
    expect(result.locator(".session-snippet")).to_contain_text(f"the {word} north")
    expect(result.locator(".session-title mark")).to_have_count(0)
    expect(result.locator(".session-title")).to_have_text("Plain travel notes")

    result.locator(".session-open").click()
    expect(page.locator("#chat-title")).to_have_text("Plain travel notes")
    expect(page.locator("#messages")).to_contain_text(f"we took the {word} north")
    expect(result).to_have_class("session is-current")
    assert page_errors.uncaught == []


def test_a_title_match_is_marked_in_the_title_and_markup_in_the_query_stays_text(
    page, page_errors, cleanup_test_sessions
):
    token = uuid.uuid4().hex[:6]
    title = f"Notes <b>{token}</b> (draft+"
    sid = imported(cleanup_test_sessions, title, "body text")["session_id"]
    load_app(page)

    page.locator(SEARCH).fill(f"<b>{token}</b> (draft+")
    result = row(page, sid)
    expect(result.locator(".match-type")).to_have_text("Title match")
    expect(result.locator(".session-title")).to_have_text(title)
    expect(result.locator(".session-title mark").first).to_have_text(f"<b>{token}</b> (draft+")
    assert page.locator("#session-list b").count() == 0
    assert page_errors.uncaught == []


def test_escape_in_the_search_clears_it_and_brings_back_the_grouped_list(
    page, page_errors, cleanup_test_sessions
):
    word = "quasar" + uuid.uuid4().hex[:6]
    match = imported(cleanup_test_sessions, f"About {word}")["session_id"]
    other = imported(cleanup_test_sessions, f"Other {uuid.uuid4().hex[:6]}")["session_id"]
    load_app(page)
    search = page.locator(SEARCH)
    search.fill(word)
    expect(row(page, other)).to_have_count(0)
    expect(page.locator('#session-list section[aria-label="Search results"]')).to_be_visible()

    search.press("Escape")
    expect(search).to_have_value("")
    expect(row(page, other)).to_be_visible()
    expect(row(page, match)).to_be_visible()
    expect(page.locator('#session-list section[aria-label="Today"]')).to_be_visible()
    expect(row(page, match).locator("mark")).to_have_count(0)
    assert page_errors.uncaught == []


def test_ctrl_k_focuses_and_selects_the_search_from_the_message_box(
    page, page_errors, cleanup_test_sessions
):
    imported(cleanup_test_sessions, f"Anything {uuid.uuid4().hex[:6]}")
    load_app(page)
    search = page.locator(SEARCH)
    search.fill("old words")
    page.locator("#message-input").focus()

    page.keyboard.press("Control+k")
    expect(search).to_be_focused()
    selected = search.evaluate("(input) => [input.selectionStart, input.selectionEnd]")
    assert selected == [0, len("old words")]
    page.keyboard.type("new")
    expect(search).to_have_value("new")
    assert page_errors.uncaught == []


def test_ctrl_k_opens_the_drawer_on_a_narrow_screen(page, page_errors, cleanup_test_sessions):
    imported(cleanup_test_sessions, f"Narrow {uuid.uuid4().hex[:6]}")
    page.set_viewport_size({"width": 480, "height": 800})
    load_app(page)
    search = page.locator(SEARCH)
    expect(search).not_to_be_visible()

    page.keyboard.press("Control+k")
    expect(page.locator("body")).to_have_class("sidebar-open")
    expect(search).to_be_visible()
    expect(search).to_be_focused()
    assert page_errors.uncaught == []


def test_arrow_keys_move_between_the_search_and_the_conversations(
    page, page_errors, cleanup_test_sessions
):
    for name in ("first", "second"):
        imported(cleanup_test_sessions, f"Arrow {name} {uuid.uuid4().hex[:6]}")
    load_app(page)
    buttons = page.locator("#session-list .session-open")
    page.locator(SEARCH).focus()

    page.keyboard.press("ArrowDown")
    expect(buttons.nth(0)).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(buttons.nth(1)).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(buttons.nth(0)).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(page.locator(SEARCH)).to_be_focused()
    assert page_errors.uncaught == []


MARK_INSIDE_SNIPPET = """(snippet) => {
  const box = snippet.getBoundingClientRect();
  const mark = snippet.querySelector('mark').getBoundingClientRect();
  return mark.width > 0 && mark.left >= box.left && mark.right <= box.right
    && mark.top >= box.top && mark.bottom <= box.bottom;
}"""
"""Whether the marked match lies wholly inside the snippet's box, where nothing cuts it off."""


def test_a_match_deep_in_a_long_message_is_marked_in_a_snippet_that_shows_it(
    page, page_errors, cleanup_test_sessions
):
    word = "Überraschung" + uuid.uuid4().hex[:6]
    text = "Grüße aus Köln, wir waren lange unterwegs. " * 60 + f"Dann kam die {word} am Ende."
    found = imported(cleanup_test_sessions, "Reisebericht", "erzähl mal", text)
    load_app(page)

    page.get_by_label("Search conversations").fill(word.lower())
    snippet = row(page, found["session_id"]).locator(".session-snippet")
    expect(snippet.locator("mark")).to_have_text(word)
    expect(snippet).to_contain_text(f"die {word} am")
    expect(snippet.locator("mark")).to_be_in_viewport(ratio=1)
    assert snippet.evaluate(MARK_INSIDE_SNIPPET)
    assert page_errors.uncaught == []
