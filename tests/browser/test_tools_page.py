"""The Tools page, reached from Settings, in a real Chromium against a real server: the built-in
tools with the note that web search has no service, an MCP server (the real FastMCP server of
tests/fakes/mcp_server.py over stdio) added through the form, tested, edited with its secret
kept masked, switched off and on and removed; the server's reason for a bad form; and hostile
text from config.yaml and from a failing server shown as text, never as HTML."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Page, expect

from tests.browser.chat_support import open_app
from tests.browser.pages import HeldRequests
from tests.browser.test_accessibility import AA_TEXT, LOW_CONTRAST_TEXT
from tests.support import REPO_ROOT, ServerProcess

CONNECT = 20_000  # ms for a connection test: it starts a real server (Python and the MCP SDK)
SECRET = "tok-s3cret-4321"
HOSTILE = "<img src=x onerror=window.pwned=1>"
FAKE = {
    "command": sys.executable,
    "args": ["-m", "tests.fakes.mcp_server", "stdio"],
    "cwd": str(REPO_ROOT),
}


@pytest.fixture
def config(chat_server: ServerProcess) -> Path:
    """The server's config.yaml, without MCP servers at the start of each test."""
    path = chat_server.root / "hermes-home" / "config.yaml"
    path.write_text("{}\n")
    return path


def servers(config: Path) -> dict:
    return yaml.safe_load(config.read_text()).get("mcp_servers", {})


def open_tools(page: Page):
    open_app(page)
    if page.locator("#sidebar-toggle").is_visible():  # a phone: Settings is in the drawer
        page.get_by_role("button", name="Show conversations").click()
    page.get_by_role("button", name="Settings").click()
    page.get_by_role("dialog", name="Settings").get_by_role("button", name="Tools…").click()
    dialog = page.get_by_role("dialog", name="Tools")
    expect(dialog).to_be_visible()
    return dialog


def card(dialog, name: str):
    return dialog.locator(f'li.mcp-server[data-name="{name}"]')


def test_a_stdio_server_is_added_tested_and_its_secret_stays_masked_and_kept(
    chat_page, config, chat_page_errors
):
    dialog = open_tools(chat_page)
    search = dialog.locator('li.builtin-tool[data-name="web_search"]')
    expect(search).to_contain_text("Off: no search service is set (web_search_backend")
    expect(dialog.locator('li.builtin-tool[data-name="read_file"] .builtin-state')).to_have_text(
        "On"
    )

    dialog.get_by_role("button", name="Add server").click()
    expect(dialog.get_by_label("Name", exact=True)).to_be_focused()
    dialog.get_by_label("Name", exact=True).fill("fake")
    dialog.get_by_label("Command", exact=True).fill(FAKE["command"])
    dialog.get_by_label("Arguments").fill("\n".join(FAKE["args"]))
    dialog.get_by_label("Working folder").fill(FAKE["cwd"])
    dialog.get_by_label("Environment").fill(f"FAKE_MCP_TOKEN={SECRET}")
    dialog.get_by_role("button", name="Save").click()

    fake = card(dialog, "fake")
    expect(fake).to_contain_text("Starts with the first conversation")
    expect(fake.locator(".mcp-where")).to_contain_text("-m tests.fakes.mcp_server stdio")
    expect(fake.get_by_role("button", name="Edit fake")).to_be_focused()
    assert servers(config)["fake"]["env"] == {"FAKE_MCP_TOKEN": SECRET}

    held = HeldRequests(chat_page, "**/api/mcp/server/test")
    fake.get_by_role("button", name="Test connection fake").click()
    held.wait()
    expect(fake.locator(".mcp-test .spinner")).to_be_visible()
    held.release()
    expect(fake.locator(".mcp-test-line")).to_contain_text(
        "Connected to fake-tools", timeout=CONNECT
    )
    expect(fake.get_by_role("button", name="Test connection fake")).to_be_focused()
    for name in ("echo", "add", "write_note"):
        expect(fake.locator(f'.mcp-test li.mcp-tool[data-name="{name}"]')).to_be_visible()
    expect(fake.locator('.mcp-test li[data-name="echo"] .mcp-tag')).to_have_text(["read-only"])
    expect(fake.locator('.mcp-test li[data-name="write_note"] .mcp-tag')).to_have_text(
        ["asks first"]
    )

    chat_page.reload()
    dialog = open_tools(chat_page)
    card(dialog, "fake").get_by_role("button", name="Edit fake").click()
    expect(dialog.get_by_label("Environment")).to_have_value("FAKE_MCP_TOKEN=••••••")
    expect(dialog.get_by_label("Name", exact=True)).to_have_js_property("readOnly", True)
    dialog.get_by_label("Tool call timeout (seconds)").fill("30")
    form = dialog.locator("form.mcp-form")
    form.get_by_role("button", name="Test connection").click()  # the form's settings, unsaved
    expect(form.locator(".mcp-test-line")).to_contain_text("Connected", timeout=CONNECT)
    form.get_by_role("button", name="Save").click()
    expect(dialog.locator("#tools-result")).to_have_text("Saved fake.")
    saved = servers(config)["fake"]
    assert saved["env"] == {"FAKE_MCP_TOKEN": SECRET}
    assert saved["timeout"] == 30
    assert chat_page_errors.uncaught == []


def test_a_server_is_switched_off_and_on_and_removed_after_a_confirmation(chat_page, config):
    config.write_text(yaml.safe_dump({"mcp_servers": {"fake": FAKE}}))
    dialog = open_tools(chat_page)
    fake = card(dialog, "fake")
    fake.get_by_role("checkbox", name="Use fake").uncheck()
    expect(fake.locator(".mcp-state")).to_have_text("Off")
    expect(card(dialog, "fake").get_by_role("checkbox", name="Use fake")).to_be_focused()
    assert servers(config)["fake"]["enabled"] is False
    fake.get_by_role("checkbox", name="Use fake").check()
    expect(fake.locator(".mcp-state")).to_have_text("Starts with the first conversation")
    assert "enabled" not in servers(config)["fake"]  # the default is not written

    fake.get_by_role("button", name="Remove fake…").click()
    confirm = chat_page.get_by_role("dialog", name="Remove fake?")
    expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()
    confirm.get_by_role("button", name="Remove").click()
    expect(card(dialog, "fake")).to_have_count(0)
    expect(dialog.locator("#tools-result")).to_have_text("Removed fake.")
    expect(dialog.get_by_role("button", name="Add server")).to_be_focused()
    assert servers(config) == {}


def test_a_form_with_neither_command_nor_url_shows_the_servers_reason_at_phone_width(
    chat_page, config
):
    chat_page.emulate_media(color_scheme="dark")
    chat_page.set_viewport_size({"width": 375, "height": 700})
    dialog = open_tools(chat_page)
    dialog.get_by_role("button", name="Add server").click()
    dialog.get_by_label("Name", exact=True).fill("empty")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_role("alert")).to_contain_text(
        "give either a command (stdio) or a url (streamable HTTP)"
    )
    assert servers(config) == {}
    assert chat_page.evaluate("() => document.documentElement.scrollWidth") <= 375
    assert dialog.evaluate("(d) => d.scrollWidth <= d.clientWidth")
    assert chat_page.evaluate(LOW_CONTRAST_TEXT, AA_TEXT)["found"] == []
    unlabelled = dialog.evaluate(
        """(node) => [...node.querySelectorAll("input, textarea")]
            .filter((field) => field.labels.length === 0).map((field) => field.id)"""
    )
    assert unlabelled == []

    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog.get_by_role("button", name="Add server")).to_be_focused()


def test_hostile_text_from_config_and_from_a_failing_server_is_shown_as_text(chat_page, config):
    config.write_text(yaml.safe_dump({"mcp_servers": {"evil": {"command": HOSTILE}}}))
    dialog = open_tools(chat_page)
    evil = card(dialog, "evil")
    expect(evil.locator(".mcp-where")).to_contain_text(HOSTILE)
    evil.get_by_role("button", name="Test connection evil").click()
    expect(evil.locator(".mcp-test-line")).to_contain_text("Could not connect:", timeout=CONNECT)
    expect(evil.locator(".mcp-test-line")).to_contain_text(HOSTILE)

    config.write_text(yaml.safe_dump({"mcp_servers": {HOSTILE: {"command": "x"}}}))
    dialog.get_by_role("button", name="Close").click()
    chat_page.get_by_role("dialog", name="Settings").get_by_role("button", name="Tools…").click()
    expect(dialog.locator(".mcp-error")).to_contain_text(f"{HOSTILE!r} is not a server name")
    assert chat_page.locator("img[src=x]").count() == 0
    assert chat_page.evaluate("() => window.pwned") is None
