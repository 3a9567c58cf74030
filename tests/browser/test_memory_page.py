"""The Memory page, reached from Settings, in a real Chromium against a real server: what the
agent saved, how full each file is, the user's edit saved to the file, an edit over the
limit refused with the server's reason, clearing after a confirmation, the on/off switch,
and the page at phone width."""

from __future__ import annotations

import pytest
import yaml
from playwright.sync_api import Page, expect

from hermes_agent.memory import MemoryStore
from tests.browser.chat_support import open_app
from tests.browser.test_accessibility import AA_TEXT, LOW_CONTRAST_TEXT
from tests.support import ServerProcess, request


@pytest.fixture
def store(chat_server: ServerProcess) -> MemoryStore:
    memories = MemoryStore(chat_server.root / "hermes-home" / "memories")
    for target in ("memory", "user"):
        memories.write_whole(target, "")
    yield memories
    request(chat_server.base, "POST", "/api/settings", {"memory": True})


def open_memory(page: Page):
    open_app(page)
    if page.locator("#sidebar-toggle").is_visible():  # a phone: Settings is in the drawer
        page.get_by_role("button", name="Show conversations").click()
    page.get_by_role("button", name="Settings").click()
    settings = page.get_by_role("dialog", name="Settings")
    settings.get_by_role("button", name="Memory…").click()
    dialog = page.get_by_role("dialog", name="Memory")
    expect(dialog).to_be_visible()
    return dialog


def user_file(server: ServerProcess) -> str:
    return (server.root / "hermes-home" / "memories" / "USER.md").read_text()


def test_the_page_shows_what_the_agent_saved_and_how_full_each_file_is(chat_page, store):
    store.add("user", "Prefers metric units.")
    store.add("memory", "The project uses ruff.")
    dialog = open_memory(chat_page)

    about = dialog.get_by_role("region", name="About you (USER.md)")
    expect(about.get_by_label("Entries of USER.md")).to_have_value("Prefers metric units.")
    expect(about.locator(".memory-fill")).to_have_text("2% — 21/1,375 characters")
    notes = dialog.get_by_role("region", name="The agent's notes (MEMORY.md)")
    expect(notes.get_by_label("Entries of MEMORY.md")).to_have_value("The project uses ruff.")
    expect(notes.locator(".memory-fill")).to_have_text("1% — 22/2,200 characters")
    expect(about.locator("meter")).to_have_attribute("value", "21")


def test_an_edit_is_saved_to_the_file_and_the_fill_follows_the_text(chat_page, chat_server, store):
    store.add("user", "Likes tea.")
    dialog = open_memory(chat_page)
    about = dialog.get_by_role("region", name="About you (USER.md)")
    box = about.get_by_label("Entries of USER.md")
    box.fill("Likes coffee now.\n§\nWorks at night.")
    expect(about.locator(".memory-fill")).to_have_text("3% — 35/1,375 characters (not saved)")
    about.get_by_role("button", name="Save USER.md").click()
    expect(about.get_by_role("status")).to_have_text("Saved.")
    expect(about.locator(".memory-fill")).to_have_text("3% — 35/1,375 characters")
    assert user_file(chat_server) == "Likes coffee now.\n§\nWorks at night.\n"


def test_an_edit_over_the_limit_shows_the_servers_reason_and_changes_nothing(
    chat_page, chat_server, store
):
    store.add("user", "Likes tea.")
    dialog = open_memory(chat_page)
    about = dialog.get_by_role("region", name="About you (USER.md)")
    about.get_by_label("Entries of USER.md").fill("x" * 1400)
    fill = about.locator(".memory-fill")
    expect(fill).to_have_text("102% — 1,400/1,375 characters (not saved): 25 over the limit")
    expect(fill).to_have_class("memory-fill is-over")
    about.get_by_role("button", name="Save USER.md").click()
    expect(about.get_by_role("status")).to_have_text(
        "Not saved: USER.md would hold 1,400 of its 1,375 characters: 25 too many. "
        "Nothing was saved."
    )
    assert user_file(chat_server) == "Likes tea.\n"


def test_clearing_asks_first_and_empties_only_that_file(chat_page, chat_server, store):
    store.add("user", "Likes tea.")
    store.add("memory", "A note.")
    dialog = open_memory(chat_page)
    about = dialog.get_by_role("region", name="About you (USER.md)")

    about.get_by_role("button", name="Clear USER.md…").click()
    confirm = chat_page.get_by_role("dialog", name="Clear USER.md?")
    expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()
    confirm.get_by_role("button", name="Cancel").click()
    expect(about.get_by_role("button", name="Clear USER.md…")).to_be_focused()
    assert store.entries("user") == ["Likes tea."]

    about.get_by_role("button", name="Clear USER.md…").click()
    chat_page.get_by_role("dialog", name="Clear USER.md?").get_by_role(
        "button", name="Clear", exact=True
    ).click()
    expect(about.get_by_label("Entries of USER.md")).to_have_value("")
    expect(about.locator(".memory-fill")).to_have_text("0% — 0/1,375 characters")
    assert store.entries("user") == [] and store.entries("memory") == ["A note."]


def test_the_switch_turns_memory_off_and_on_in_the_settings(chat_page, chat_server, store):
    dialog = open_memory(chat_page)
    switch = dialog.get_by_label("Use memory in new conversations")
    expect(switch).to_be_checked()
    switch.uncheck()
    expect(dialog.locator("#memory-switch-status")).to_contain_text("Memory is off")
    config = yaml.safe_load((chat_server.root / "hermes-home" / "config.yaml").read_text())
    assert config["memory"] is False
    assert request(chat_server.base, "GET", "/api/memory").json["enabled"] is False

    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()
    chat_page.get_by_role("dialog", name="Settings").get_by_role("button", name="Memory…").click()
    expect(dialog.get_by_label("Use memory in new conversations")).not_to_be_checked()
    dialog.get_by_label("Use memory in new conversations").check()
    expect(dialog.locator("#memory-switch-status")).to_contain_text("Memory is on")
    assert request(chat_server.base, "GET", "/api/settings").json["memory"] is True


def test_closing_the_page_puts_focus_back_on_its_button(chat_page, store):
    dialog = open_memory(chat_page)
    chat_page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    settings = chat_page.get_by_role("dialog", name="Settings")
    expect(settings).to_be_visible()
    expect(settings.get_by_role("button", name="Memory…")).to_be_focused()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_page_is_readable_and_fits_a_phone(chat_page, store, theme):
    store.add("user", "Prefers metric units. " * 10)
    chat_page.emulate_media(color_scheme=theme)
    chat_page.set_viewport_size({"width": 375, "height": 700})
    dialog = open_memory(chat_page)
    box = dialog.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375
    assert chat_page.evaluate("() => document.documentElement.scrollWidth") <= 375
    assert dialog.evaluate("(d) => d.scrollWidth <= d.clientWidth")
    result = chat_page.evaluate(LOW_CONTRAST_TEXT, AA_TEXT)
    assert result["found"] == [], result["found"]
