"""The settings dialog in a real browser: the provider's models, the connection test, settings
saved across reloads, a write-only API key, the keyboard, and the colour theme."""

from __future__ import annotations

import json
import zipfile

import pytest
import yaml
from playwright.sync_api import expect

from tests.browser.pages import CONFIG_API_KEY, Contexts, wait_until_loaded
from tests.fakes.openai_server import Reply
from tests.support import request

API_KEY = CONFIG_API_KEY
LIGHT = "rgb(247, 247, 248)"
DARK = "rgb(22, 24, 28)"


@pytest.fixture
def contexts(browser, settings_server, fake_llm):
    fake_llm.clear_script()
    opened = Contexts(browser, settings_server.base)
    yield opened
    opened.close()
    restored = {"base_url": fake_llm.base_url, "model": "fake-model", "api_key": API_KEY}
    assert request(settings_server.base, "POST", "/api/settings", restored).status == 200


def saved_config(server) -> dict:
    return yaml.safe_load((server.root / "hermes-home" / "config.yaml").read_text())


def open_app(contexts, **options):
    page = contexts.page(**options)
    page.goto("/")
    wait_until_loaded(page)
    return page


def open_settings(page):
    page.get_by_role("button", name="Settings").click()
    dialog = page.get_by_role("dialog", name="Settings")
    expect(dialog).to_be_visible()
    return dialog


def test_the_model_picker_lists_the_providers_models_and_fills_the_field(contexts):
    page = open_app(contexts)
    dialog = open_settings(page)
    picker = dialog.get_by_label("Models the provider offers")
    expect(picker.locator("option", has_text="fake-model")).to_have_count(1)
    expect(dialog.locator("#model-status")).to_contain_text("from the saved provider (openai)")
    model = dialog.get_by_label("Model", exact=True)
    model.fill("")
    picker.select_option("fake-model")
    expect(model).to_have_value("fake-model")
    expect(model).to_be_focused()
    assert contexts.uncaught == []


def test_the_provider_picker_offers_the_installed_providers_with_the_saved_one_chosen(contexts):
    page = open_app(contexts)
    dialog = open_settings(page)
    provider = dialog.get_by_label("Provider", exact=True)
    expect(provider).to_have_value("openai")
    titles = provider.locator("option").all_text_contents()
    assert sorted(titles) == ["Anthropic", "Local (bundled model)", "OpenAI-compatible"]
    assert contexts.uncaught == []


def test_the_api_key_is_write_only(contexts, settings_server):
    page = open_app(contexts)
    dialog = open_settings(page)
    key = dialog.get_by_label("API key", exact=True)
    expect(dialog.locator("#api-key-state")).to_contain_text("A key is saved")
    expect(key).to_have_value("")
    expect(key).to_have_attribute("placeholder", "Set (hidden)")
    assert API_KEY not in page.content()

    new_key = "sk-new-secret-from-the-dialog-42"
    key.fill(new_key)
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.locator("#settings-result")).to_have_text("Saved.")
    expect(key).to_have_value("")
    assert new_key not in page.content()
    assert saved_config(settings_server)["api_key"] == new_key
    assert new_key not in page.request.get("/api/settings").text()
    page.reload()
    dialog = open_settings(page)
    expect(dialog.locator("#api-key-state")).to_contain_text("A key is saved")
    assert new_key not in page.content()
    assert contexts.uncaught == []


def test_the_connection_test_shows_the_providers_answer_or_its_error(contexts, fake_llm):
    page = open_app(contexts)
    dialog = open_settings(page)
    result = dialog.locator("#settings-result")
    fake_llm.script(Reply.text("OK"))
    dialog.get_by_role("button", name="Test connection").click()
    expect(result).to_contain_text("Connected to fake-model")
    expect(result).to_contain_text("Reply: “OK”")
    expect(result).to_have_class("result is-ok")

    fake_llm.script(Reply.error(401, "Incorrect API key provided"))
    dialog.get_by_role("button", name="Test connection").click()
    expect(result).to_contain_text("Connection failed")
    expect(result).to_contain_text("Incorrect API key provided")
    expect(result).to_have_class("result is-error")
    assert contexts.uncaught == []


def test_saved_base_url_and_model_persist_across_a_reload(contexts, settings_server):
    page = open_app(contexts)
    dialog = open_settings(page)
    dialog.get_by_label("Base URL").fill("http://127.0.0.1:9/v1")
    dialog.get_by_label("Model", exact=True).fill("saved-model")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.locator("#settings-result")).to_have_text("Saved.")

    page.reload()
    dialog = open_settings(page)
    expect(dialog.get_by_label("Base URL")).to_have_value("http://127.0.0.1:9/v1")
    expect(dialog.get_by_label("Model", exact=True)).to_have_value("saved-model")
    settings = page.request.get("/api/settings").json()
    assert settings["base_url"] == "http://127.0.0.1:9/v1" and settings["model"] == "saved-model"
    assert saved_config(settings_server)["model"] == "saved-model"
    assert contexts.uncaught == []


def test_a_refused_save_is_shown_and_changes_nothing(contexts, settings_server):
    page = open_app(contexts)
    dialog = open_settings(page)
    dialog.get_by_label("Model", exact=True).fill("m" * 300)
    dialog.get_by_role("button", name="Save").click()
    result = dialog.locator("#settings-result")
    expect(result).to_contain_text("Not saved: model")
    expect(result).to_have_class("result is-error")
    assert page.request.get("/api/settings").json()["model"] == "fake-model"
    assert saved_config(settings_server)["model"] == "fake-model"
    assert contexts.uncaught == []


def test_the_dialog_works_from_the_keyboard_and_escape_closes_it(contexts):
    page = open_app(contexts)
    button = page.get_by_role("button", name="Settings")
    button.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Settings")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Provider", exact=True)).to_be_focused()
    page.keyboard.press("Tab")
    expect(dialog.get_by_label("Base URL")).to_be_focused()
    unlabelled = dialog.evaluate(
        """(node) => [...node.querySelectorAll("input, select, textarea")]
            .filter((field) => field.labels.length === 0 && !field.getAttribute("aria-label"))
            .map((field) => field.id || field.name)"""
    )
    assert unlabelled == []
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(button).to_be_focused()
    assert contexts.uncaught == []


def test_the_theme_persists_and_system_follows_the_color_scheme(contexts):
    page = open_app(contexts, color_scheme="dark")
    body = page.locator("body")
    expect(body).to_have_css("background-color", DARK)
    dialog = open_settings(page)
    expect(dialog.get_by_label("System", exact=True)).to_be_checked()
    dialog.get_by_label("Light", exact=True).check()
    expect(body).to_have_css("background-color", LIGHT)

    page.reload()
    expect(body).to_have_css("background-color", LIGHT)
    dialog = open_settings(page)
    expect(dialog.get_by_label("Light", exact=True)).to_be_checked()
    dialog.get_by_label("System", exact=True).check()
    expect(body).to_have_css("background-color", DARK)
    page.emulate_media(color_scheme="light")
    expect(body).to_have_css("background-color", LIGHT)
    dialog.get_by_label("Dark", exact=True).check()
    expect(body).to_have_css("background-color", DARK)

    page.reload()
    expect(body).to_have_css("background-color", DARK)
    assert page.evaluate("localStorage.getItem('hermes.theme')") == "dark"
    assert contexts.uncaught == []


def test_settings_fixed_by_the_environment_are_marked_and_locked(chat_page):
    uncaught: list[str] = []
    chat_page.on("pageerror", lambda exc: uncaught.append(str(exc)))
    chat_page.goto("/")
    wait_until_loaded(chat_page)
    dialog = open_settings(chat_page)
    note = dialog.locator("#env-note")
    expect(note).to_be_visible()
    expect(note).to_contain_text("provider, base URL, model, API key")
    for label in ("Provider", "Base URL", "Model"):
        expect(dialog.get_by_label(label, exact=True)).to_be_disabled()
    expect(dialog.get_by_label("API key", exact=True)).to_be_disabled()
    assert uncaught == []


def test_all_conversations_download_as_a_zip_from_the_dialog(contexts, settings_server):
    body = {"title": "Kept safe", "messages": [{"role": "user", "content": "back me up"}]}
    sid = request(settings_server.base, "POST", "/api/session/import", body).json["session"][
        "session_id"
    ]
    page = open_app(contexts)
    dialog = open_settings(page)
    with page.expect_download() as started:
        dialog.get_by_role("link", name="Download all conversations").click()
    download = started.value
    assert download.suggested_filename.startswith("hermes-conversations-")
    assert download.suggested_filename.endswith(".zip")
    with zipfile.ZipFile(download.path()) as archive:
        saved = json.loads(archive.read(f"hermes-{sid}.json"))
    assert saved["title"] == "Kept safe"
    assert [m["content"] for m in saved["messages"]] == ["back me up"]
    assert contexts.uncaught == []


def test_saving_another_model_renames_the_default_in_the_chat_header(contexts):
    page = open_app(contexts)
    picker = page.get_by_label("Model for this conversation")
    expect(picker.locator("option").first).to_have_text("Default (fake-model)")
    dialog = open_settings(page)
    dialog.get_by_label("Model", exact=True).fill("saved-model")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.locator("#settings-result")).to_have_text("Saved.")
    expect(picker.locator("option").first).to_have_text("Default (saved-model)")
    expect(picker).to_have_value("")
    assert contexts.uncaught == []
