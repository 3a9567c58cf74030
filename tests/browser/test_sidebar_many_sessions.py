"""The sidebar with 5,000 sessions: a bounded first paint, pages loaded on scroll, and a list
that keeps its place when a row changes. The sessions are written as files into the state dir
of a server of its own, whose index is rebuilt from them at its first list request."""

from __future__ import annotations

import json
import time

import pytest
from playwright.sync_api import expect

from tests.browser.pages import Contexts
from tests.browser.sidebar_support import listed_ids, open_menu, row
from tests.support import ServerProcess, request

COUNT = 5_000
SPACING_SECONDS = 3_600  # an hour apart: the first pages reach every day group
PINNED = (4_000, 4_500, 4_999)  # old sessions, which the server still lists first
FIRST_PAINT_MAX_ROWS = 300
GROUPS = ["Pinned", "Today", "Yesterday", "Previous 7 days", "Older"]


def session_file(i: int, now: float) -> dict:
    stamp = now - i * SPACING_SECONDS
    return {
        "session_id": f"crowd{i:05d}",
        "title": f"Crowd conversation {i:05d}",
        "model": "test/model",
        "created_at": stamp,
        "updated_at": stamp,
        "pinned": i in PINNED,
        "archived": False,
        "project_id": None,
        "messages": [
            {"role": "user", "content": f"question {i}", "_ts": stamp},
            {"role": "assistant", "content": f"answer {i}", "_ts": stamp},
        ],
    }


@pytest.fixture(scope="module")
def crowded_server(tmp_path_factory):
    server = ServerProcess(tmp_path_factory.mktemp("sidebar-crowd"))
    sessions = server.state_dir / "sessions"
    sessions.mkdir(parents=True)
    now = time.time()
    for i in range(COUNT):
        data = session_file(i, now)
        (sessions / f"{data['session_id']}.json").write_text(json.dumps(data, indent=2))
    server.start()
    try:
        reply = request(server.base, "GET", "/api/sessions?limit=1", timeout=120)
        assert reply.json["total"] == COUNT, reply.body
        yield server
    finally:
        server.stop()


@pytest.fixture
def crowded_page(browser, crowded_server):
    contexts = Contexts(browser, crowded_server.base)
    page = contexts.page()
    page.uncaught = contexts.uncaught
    try:
        yield page
    finally:
        contexts.close()


def shown_ids(page) -> list[str]:
    return page.locator("#session-list .session").evaluate_all(
        "(rows) => rows.map((r) => r.dataset.id)"
    )


def headings(page) -> list[str]:
    return page.locator("#session-list .session-group").evaluate_all(
        "(groups) => groups.map((g) => g.querySelector('h2').textContent)"
    )


def scroll_to_end(page) -> None:
    page.locator("#session-list").evaluate("(list) => { list.scrollTop = list.scrollHeight; }")


def rows_beyond(page, count: int) -> int:
    page.wait_for_function(
        "(n) => document.querySelectorAll('#session-list .session').length > n", arg=count
    )
    return page.locator("#session-list .session").count()


def load_pages(page, pages: int) -> None:
    """Opens the UI, then scrolls the list to its end until `pages` more pages have come in."""
    page.goto("/")
    page.locator("#session-list .session").first.wait_for()
    count = page.locator("#session-list .session").count()
    for _ in range(pages):
        scroll_to_end(page)
        count = rows_beyond(page, count)


def test_first_paint_is_bounded_and_grouped_with_pinned_on_top(crowded_page, crowded_server):
    page = crowded_page
    load_pages(page, 0)
    shown = shown_ids(page)
    assert 0 < len(shown) <= FIRST_PAINT_MAX_ROWS
    assert shown == listed_ids(crowded_server.base, limit=len(shown), archived=0)
    assert shown[: len(PINNED)] == [f"crowd{i:05d}" for i in PINNED]
    assert headings(page)[:2] == ["Pinned", "Today"]
    assert page.uncaught == []


def test_scrolling_to_the_end_loads_the_next_pages_without_repeating_rows_or_headings(
    crowded_page, crowded_server
):
    page = crowded_page
    load_pages(page, 3)

    shown = shown_ids(page)
    assert len(shown) == len(set(shown)), "a row is listed twice"
    assert shown == listed_ids(crowded_server.base, limit=len(shown), archived=0)
    names = headings(page)
    assert len(names) == len(set(names)), names
    assert names == GROUPS
    assert len(shown) < COUNT
    assert page.uncaught == []


def test_a_change_deep_in_the_list_keeps_the_scroll_and_the_loaded_pages(
    crowded_page, crowded_server
):
    page = crowded_page
    load_pages(page, 2)
    shown = shown_ids(page)
    deep = shown[len(shown) // 2]
    row(page, deep).scroll_into_view_if_needed()
    before = page.locator("#session-list").evaluate("(list) => list.scrollTop")
    assert before > 0
    count = page.locator("#session-list .session").count()

    open_menu(page, deep).get_by_role("menuitem", name="Rename…").click()
    dialog = page.get_by_role("dialog", name="Rename conversation")
    dialog.get_by_label("Title").fill("Renamed far down")
    dialog.get_by_role("button", name="Rename").click()
    expect(row(page, deep).locator(".session-title")).to_have_text("Renamed far down")

    assert page.locator("#session-list .session").count() == count
    after = page.locator("#session-list").evaluate("(list) => list.scrollTop")
    assert abs(after - before) < 2, (before, after)
    assert page.uncaught == []


def test_the_page_stays_responsive_with_many_rows_loaded(crowded_page):
    page = crowded_page
    load_pages(page, 4)

    started = time.monotonic()
    page.keyboard.press("Control+k")
    page.keyboard.type("Crowd conversation 04321")
    target = row(page, "crowd04321")
    expect(target.locator(".session-title mark")).to_have_text("Crowd conversation 04321")
    target.locator(".session-open").click()
    expect(page.locator("#chat-title")).to_have_text("Crowd conversation 04321")
    expect(page.locator("#messages")).to_contain_text("answer 4321")
    assert time.monotonic() - started < 10
    frame = page.evaluate(
        "() => new Promise((done) => { const t = performance.now();"
        " requestAnimationFrame(() => done(performance.now() - t)); })"
    )
    assert frame < 1_000
    assert page.uncaught == []


def test_a_refresh_from_an_import_keeps_the_loaded_pages_and_the_scroll(
    crowded_page, crowded_server
):
    page = crowded_page
    load_pages(page, 2)
    shown = shown_ids(page)
    row(page, shown[len(shown) // 2]).scroll_into_view_if_needed()
    count = page.locator("#session-list .session").count()
    before = page.locator("#session-list").evaluate("(list) => list.scrollTop")

    export = {"title": "Fresh import", "messages": [{"role": "user", "content": "new"}]}
    page.get_by_label("Import…").set_input_files(
        {
            "name": "fresh.json",
            "mimeType": "application/json",
            "buffer": json.dumps(export).encode(),
        }
    )
    expect(page.locator("#chat-title")).to_have_text("Fresh import")
    fresh = page.evaluate("() => localStorage.getItem('hermes.currentSession')")
    try:
        newest = page.locator('#session-list section[aria-label="Today"] .session').first
        expect(newest).to_have_attribute("data-id", fresh)
        assert page.locator("#session-list .session").count() == count + 1
        shown = shown_ids(page)
        assert shown == listed_ids(crowded_server.base, limit=len(shown), archived=0)
        after = page.locator("#session-list").evaluate("(list) => list.scrollTop")
        assert abs(after - before) < 2, (before, after)
    finally:
        request(crowded_server.base, "POST", "/api/session/delete", {"session_id": fresh})
    assert page.uncaught == []
