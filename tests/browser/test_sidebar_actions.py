"""The sidebar's per-session actions in a real browser: rename, pin, archive, delete."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.sidebar_support import (
    export_body,
    imported,
    listed_ids,
    load_app,
    open_menu,
    row,
    server_session,
)


@pytest.fixture
def native_dialogs(page) -> list[str]:
    """Messages of any window.alert/confirm/prompt: the sidebar must use none of them."""
    seen: list[str] = []
    page.on("dialog", lambda dialog: (seen.append(dialog.message), dialog.dismiss()))
    return seen


def tag() -> str:
    return uuid.uuid4().hex[:6]


def test_rename_in_a_dialog_changes_the_title_in_list_header_and_server(
    page, page_errors, native_dialogs, cleanup_test_sessions
):
    session = imported(cleanup_test_sessions, f"Before {tag()}", "hello", "hi there")
    sid = session["session_id"]
    load_app(page, sid=sid)
    expect(page.locator("#chat-title")).to_have_text(session["title"])

    open_menu(page, sid).get_by_role("menuitem", name="Rename…").click()
    dialog = page.get_by_role("dialog", name="Rename conversation")
    field = dialog.get_by_label("Title")
    expect(field).to_be_focused()
    expect(field).to_have_value(session["title"])
    new_title = f"Renamed {tag()}"
    field.fill(new_title)
    field.press("Enter")

    expect(dialog).to_have_count(0)
    expect(row(page, sid).locator(".session-title")).to_have_text(new_title)
    expect(page.locator("#chat-title")).to_have_text(new_title)
    assert server_session(sid).json["session"]["title"] == new_title
    expect(row(page, sid).locator(".session-menu-button")).to_be_focused()
    assert native_dialogs == []
    assert page_errors.uncaught == []


def test_rename_refuses_a_blank_title_and_escape_cancels(
    page, page_errors, native_dialogs, cleanup_test_sessions
):
    session = imported(cleanup_test_sessions, f"Keep me {tag()}")
    sid = session["session_id"]
    load_app(page)
    open_menu(page, sid).get_by_role("menuitem", name="Rename…").click()
    dialog = page.get_by_role("dialog", name="Rename conversation")
    dialog.get_by_label("Title").fill("   ")
    dialog.get_by_role("button", name="Rename").click()
    expect(dialog).to_be_visible()

    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(row(page, sid).locator(".session-title")).to_have_text(session["title"])
    assert server_session(sid).json["session"]["title"] == session["title"]
    assert native_dialogs == []
    assert page_errors.uncaught == []


def test_pin_moves_the_session_to_the_pinned_group_on_top_and_unpin_back(
    page, page_errors, cleanup_test_sessions
):
    older = imported(cleanup_test_sessions, f"Older {tag()}")["session_id"]
    newer = imported(cleanup_test_sessions, f"Newer {tag()}")["session_id"]
    load_app(page)
    first_row = page.locator("#session-list .session").first
    first_group = page.locator("#session-list .session-group").first
    expect(first_row).to_have_attribute("data-id", newer)
    expect(page.locator('#session-list section[aria-label="Pinned"]')).to_have_count(0)

    open_menu(page, older).get_by_role("menuitem", name="Pin").click()
    expect(first_group).to_have_attribute("aria-label", "Pinned")
    expect(first_group.locator("h2")).to_have_text("Pinned")
    expect(first_row).to_have_attribute("data-id", older)
    assert server_session(older).json["session"]["pinned"] is True

    open_menu(page, older).get_by_role("menuitem", name="Unpin").click()
    expect(page.locator('#session-list section[aria-label="Pinned"]')).to_have_count(0)
    assert server_session(older).json["session"]["pinned"] is False
    expect(first_group).to_have_attribute("aria-label", "Today")
    expect(first_row).to_have_attribute("data-id", listed_ids()[0])
    assert page_errors.uncaught == []


def test_archive_hides_the_session_until_show_archived_and_unarchive_brings_it_back(
    page, page_errors, cleanup_test_sessions
):
    sid = imported(cleanup_test_sessions, f"To archive {tag()}")["session_id"]
    load_app(page)
    open_menu(page, sid).get_by_role("menuitem", name="Archive").click()
    expect(row(page, sid)).to_have_count(0)
    assert server_session(sid).json["session"]["archived"] is True

    page.get_by_label("Show archived").check()
    archived_row = row(page, sid)
    expect(archived_row).to_be_visible()
    expect(archived_row).to_have_class("session is-archived")
    expect(archived_row.locator(".badge")).to_have_text("Archived")

    open_menu(page, sid).get_by_role("menuitem", name="Unarchive").click()
    expect(archived_row.locator(".badge")).to_have_count(0)
    assert server_session(sid).json["session"]["archived"] is False
    page.get_by_label("Show archived").uncheck()
    expect(row(page, sid)).to_be_visible()
    assert page_errors.uncaught == []


def test_delete_asks_in_a_dialog_cancel_keeps_and_confirm_removes(
    page, page_errors, native_dialogs, cleanup_test_sessions
):
    session = imported(cleanup_test_sessions, f"Doomed {tag()}")
    sid = session["session_id"]
    load_app(page)

    open_menu(page, sid).get_by_role("menuitem", name="Delete…").click()
    dialog = page.get_by_role("dialog", name="Delete conversation")
    expect(dialog).to_contain_text(session["title"])
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    expect(row(page, sid)).to_be_visible()
    assert server_session(sid).status == 200

    open_menu(page, sid).get_by_role("menuitem", name="Delete…").click()
    page.get_by_role("dialog", name="Delete conversation").get_by_role(
        "button", name="Delete", exact=True
    ).click()
    expect(row(page, sid)).to_have_count(0)
    assert server_session(sid).status == 404
    assert native_dialogs == []
    assert page_errors.uncaught == []


def test_menu_opens_from_the_keyboard_and_escape_returns_the_focus(
    page, page_errors, cleanup_test_sessions
):
    sid = imported(cleanup_test_sessions, f"Keys {tag()}")["session_id"]
    load_app(page)
    button = row(page, sid).locator(".session-menu-button")
    button.focus()
    page.keyboard.press("Enter")
    menu = page.get_by_role("menu")
    expect(menu.get_by_role("menuitem").first).to_be_focused()
    expect(button).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("ArrowDown")
    expect(menu.get_by_role("menuitem", name="Pin")).to_be_focused()

    page.keyboard.press("Escape")
    expect(menu).to_have_count(0)
    expect(button).to_be_focused()
    expect(button).to_have_attribute("aria-expanded", "false")
    assert page_errors.uncaught == []


LOWEST_VISIBLE_ROW = """() => {
  const list = document.querySelector('#session-list').getBoundingClientRect();
  const rows = [...document.querySelectorAll('#session-list .session')].filter((node) => {
    const box = node.getBoundingClientRect();
    return box.top >= list.top && box.bottom <= list.bottom;
  });
  return rows[rows.length - 1].dataset.id;
}"""

MENU_ITEMS = """(menu) => [...menu.querySelectorAll('[role=menuitem]')].map((item) => {
  const box = item.getBoundingClientRect();
  const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
  return {
    name: item.textContent, top: box.top, bottom: box.bottom, left: box.left, right: box.right,
    onTop: item.contains(hit),
  };
})"""
"""Each menu item's box, and whether a click at its centre reaches it (nothing clips it)."""


def assert_fully_visible(page, menu) -> None:
    viewport = page.viewport_size
    items = menu.evaluate(MENU_ITEMS)
    assert [item["name"] for item in items][-1] == "Delete…"
    for item in items:
        assert item["top"] >= 0 and item["bottom"] <= viewport["height"], item
        assert item["left"] >= 0 and item["right"] <= viewport["width"], item
        assert item["onTop"], item


@pytest.mark.parametrize("viewport", [(1280, 800), (375, 667)], ids=["desktop", "phone"])
def test_the_menu_of_the_lowest_visible_row_opens_fully_visible_and_its_actions_work(
    page, page_errors, native_dialogs, cleanup_test_sessions, viewport
):
    page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    mine = {imported(cleanup_test_sessions, f"Crowd {tag()}")["session_id"] for _ in range(40)}
    load_app(page)
    if page.get_by_role("button", name="Show conversations").is_visible():
        page.get_by_role("button", name="Show conversations").click()
    expect(page.locator("#sidebar")).to_be_in_viewport(ratio=1)
    page.wait_for_function(
        "() => getComputedStyle(document.querySelector('#sidebar')).transform === 'none'"
    )
    sid = page.evaluate(LOWEST_VISIBLE_ROW)
    assert sid in mine
    scrolled = page.locator("#session-list").evaluate("(list) => list.scrollTop")

    menu = open_menu(page, sid)
    assert_fully_visible(page, menu)
    with page.expect_download() as info:
        menu.get_by_role("menuitem", name="Export JSON").click()
    assert export_body(info.value.path())["session_id"] == sid
    expect(menu).to_have_count(0)

    menu = open_menu(page, sid)
    assert_fully_visible(page, menu)
    menu.get_by_role("menuitem", name="Delete…").click()
    page.get_by_role("dialog", name="Delete conversation").get_by_role(
        "button", name="Delete", exact=True
    ).click()
    expect(row(page, sid)).to_have_count(0)
    assert server_session(sid).status == 404
    assert page.locator("#session-list").evaluate("(list) => list.scrollTop") == scrolled
    assert native_dialogs == []
    assert page_errors.uncaught == []
