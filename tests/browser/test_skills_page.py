"""The Skills page, reached from Settings, in a real Chromium against a real server whose
model is the scripted fake: the list and its search, the on/off switch (seen in the system
prompt of a new conversation), a skill's instructions rendered and edited, a bad edit's
parse error, deleting after a confirmation, importing and exporting zips, and the page at
phone width."""

from __future__ import annotations

import io
import pathlib
import zipfile

import pytest
from playwright.sync_api import Page, expect

from hermes_agent.skills import SkillLibrary
from tests.browser.chat_support import ANSWERS, WAIT, open_app, say
from tests.browser.test_accessibility import AA_TEXT, LOW_CONTRAST_TEXT
from tests.fakes.openai_server import Reply
from tests.support import ServerProcess

BUNDLED = {"code-review", "commit-message", "summarise-document"}
TRIP = (
    "---\nname: trip-plan\ndescription: Plan a day trip by train.\nversion: 3\n"
    "tags: [travel, trains]\n---\n## Steps\n\n1. Check the **timetable**.\n2. Book seats.\n"
)
PACKING = "---\nname: packing-list\ndescription: Make a packing list.\n---\nList by weather.\n"


@pytest.fixture
def library(chat_server: ServerProcess) -> SkillLibrary:
    skills = SkillLibrary(chat_server.root / "hermes-home" / "skills")
    for name in [s.name for s in skills.all(include_disabled=True)] + [
        n for n, _ in skills.broken()
    ]:
        if name not in BUNDLED:
            skills.delete(name)
    skills.write("trip-plan", "SKILL.md", TRIP)
    skills.write("trip-plan", "templates/day.md", "# Day\n")
    skills.write("packing-list", "SKILL.md", PACKING)
    return skills


def open_skills(page: Page):
    open_app(page)
    if page.locator("#sidebar-toggle").is_visible():  # a phone: Settings is in the drawer
        page.get_by_role("button", name="Show conversations").click()
    page.get_by_role("button", name="Settings").click()
    page.get_by_role("dialog", name="Settings").get_by_role("button", name="Skills…").click()
    dialog = page.get_by_role("dialog", name="Skills")
    expect(dialog).to_be_visible()
    return dialog


def item(dialog, name: str):
    return dialog.locator(f'li.skill-item[data-name="{name}"]')


def listed(dialog) -> list[str]:
    return dialog.locator("li.skill-item:visible").evaluate_all(
        "(items) => items.map((li) => li.dataset.name)"
    )


def test_the_list_shows_each_skill_and_the_search_narrows_it(chat_page, library):
    dialog = open_skills(chat_page)
    trip = item(dialog, "trip-plan")
    expect(trip).to_contain_text("Plan a day trip by train.")
    expect(trip.locator(".skill-tag")).to_have_text(["travel", "trains"])
    expect(trip).to_contain_text("v3")
    expect(trip).to_contain_text("1 file")
    expect(trip.get_by_role("checkbox", name="Use trip-plan")).to_be_checked()
    assert sorted(listed(dialog)) == sorted({"trip-plan", "packing-list", *BUNDLED})

    search = dialog.get_by_label("Search skills")
    search.fill("train")
    expect(dialog.locator("li.skill-item:visible")).to_have_count(1)
    assert listed(dialog) == ["trip-plan"]
    search.fill("weather")  # the body is not searched: only name, description and tags
    expect(dialog.locator("li.skill-item:visible")).to_have_count(0)
    expect(dialog.locator("#skills-count")).to_have_text("No skill matches “weather”.")
    search.fill("PACKING")
    assert listed(dialog) == ["packing-list"]


def test_a_disabled_skill_is_left_out_of_a_new_conversations_prompt(chat_page, library, fake_llm):
    dialog = open_skills(chat_page)
    switch = item(dialog, "trip-plan").get_by_role("checkbox", name="Use trip-plan")
    switch.uncheck()
    expect(item(dialog, "trip-plan")).to_have_class("skill-item is-off")
    expect(item(dialog, "trip-plan")).to_contain_text("Off")
    assert library.enabled("trip-plan") is False
    assert (library.folder / "trip-plan" / "SKILL.md").is_file()

    chat_page.keyboard.press("Escape")
    chat_page.get_by_role("dialog", name="Settings").get_by_role("button", name="Close").click()
    chat_page.get_by_role("button", name="New chat").click()
    fake_llm.script(Reply.text("Planned."))
    before = len(fake_llm.requests)
    say(chat_page, "Plan my Sunday")
    expect(chat_page.locator(ANSWERS).last).to_have_text("Planned.", timeout=WAIT)
    prompt = fake_llm.requests[before]["messages"][0]["content"]
    assert "packing-list: Make a packing list." in prompt
    assert "trip-plan" not in prompt


def test_a_skill_is_shown_rendered_and_an_edit_is_saved(chat_page, library):
    dialog = open_skills(chat_page)
    item(dialog, "trip-plan").get_by_role("button", name="View trip-plan").click()
    view = dialog.locator("#skill-view")
    expect(view.get_by_role("heading", name="trip-plan")).to_be_focused()
    body = view.locator(".skill-body")
    expect(body.get_by_role("heading", name="Steps")).to_be_visible()
    expect(body.locator("strong")).to_have_text("timetable")
    expect(body).not_to_contain_text("description:")
    expect(view.locator(".skill-files")).to_contain_text("templates/day.md")

    view.get_by_role("button", name="Edit").click()
    editor = view.get_by_label("SKILL.md of trip-plan")
    expect(editor).to_be_focused()
    expect(editor).to_have_value(TRIP)
    edited = TRIP.replace("Book seats.", "Book seats by the window.")
    editor.fill(edited)
    view.get_by_role("button", name="Save").click()
    expect(view.get_by_role("status")).to_have_text("Saved.")
    expect(body).to_contain_text("Book seats by the window.")
    assert library.read("trip-plan") == edited


def test_a_bad_edit_shows_the_parse_error_and_keeps_the_file(chat_page, library):
    dialog = open_skills(chat_page)
    item(dialog, "trip-plan").get_by_role("button", name="View trip-plan").click()
    view = dialog.locator("#skill-view")
    view.get_by_role("button", name="Edit").click()
    view.get_by_label("SKILL.md of trip-plan").fill(TRIP.replace("name: trip-plan", "name: trip"))
    view.get_by_role("button", name="Save").click()
    expect(view.get_by_role("status")).to_have_text(
        "Not saved: the front matter's name must be 'trip-plan'"
    )
    expect(view.get_by_label("SKILL.md of trip-plan")).to_be_visible()
    assert library.read("trip-plan") == TRIP

    view.get_by_role("button", name="Cancel").click()
    view.get_by_role("button", name="Back to the list").click()
    expect(item(dialog, "trip-plan").get_by_role("button", name="View trip-plan")).to_be_focused()


def test_a_new_skill_is_written_from_the_page(chat_page, library):
    dialog = open_skills(chat_page)
    dialog.get_by_role("button", name="New skill").click()
    view = dialog.locator("#skill-view")
    view.get_by_label("Name").fill("tide-times")
    editor = view.get_by_label("SKILL.md of the new skill")
    expect(editor).to_have_value(
        "---\nname: my-skill\ndescription: One line saying when to use it.\n---\n\n"
        "1. The first step.\n"
    )
    editor.fill("---\nname: tide-times\ndescription: Look up the tides.\n---\nCheck the port.\n")
    view.get_by_role("button", name="Save").click()
    expect(view.get_by_role("heading", name="tide-times")).to_be_visible()
    assert library.get("tide-times").description == "Look up the tides."
    view.get_by_role("button", name="Back to the list").click()
    expect(item(dialog, "tide-times")).to_contain_text("Look up the tides.")


def test_delete_asks_first_then_removes_the_skill(chat_page, library):
    dialog = open_skills(chat_page)
    item(dialog, "packing-list").get_by_role("button", name="Delete packing-list…").click()
    confirm = chat_page.get_by_role("dialog", name="Delete packing-list?")
    expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()
    confirm.get_by_role("button", name="Cancel").click()
    assert (library.folder / "packing-list").exists()

    item(dialog, "packing-list").get_by_role("button", name="Delete packing-list…").click()
    chat_page.get_by_role("dialog", name="Delete packing-list?").get_by_role(
        "button", name="Delete", exact=True
    ).click()
    expect(item(dialog, "packing-list")).to_have_count(0)
    expect(dialog.get_by_label("Search skills")).to_be_focused()
    assert not (library.folder / "packing-list").exists()


def zipped(files: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return out.getvalue()


def test_a_zip_is_imported_and_a_skill_exported(chat_page, library):
    dialog = open_skills(chat_page)
    data = zipped(
        {
            "tide-times/SKILL.md": "---\nname: tide-times\ndescription: Tides.\n---\nCheck.\n",
            "tide-times/ports.txt": "Lisbon\n",
            "notes.txt": "loose",
        }
    )
    dialog.get_by_label("Import a zip…").set_input_files(
        {"name": "skills.zip", "mimeType": "application/zip", "buffer": data}
    )
    expect(item(dialog, "tide-times")).to_contain_text("Tides.")
    expect(dialog.locator("#skills-result")).to_have_text(
        "Imported tide-times. Skipped notes.txt: not inside a skill's folder "
        "(one holding SKILL.md)."
    )
    assert library.read("tide-times", "ports.txt") == "Lisbon\n"

    with chat_page.expect_download() as info:
        item(dialog, "trip-plan").get_by_role("link", name="Export trip-plan").click()
    download = info.value
    assert download.suggested_filename == "trip-plan.zip"
    with zipfile.ZipFile(pathlib.Path(download.path())) as archive:
        assert sorted(archive.namelist()) == ["trip-plan/SKILL.md", "trip-plan/templates/day.md"]
        assert archive.read("trip-plan/SKILL.md").decode() == TRIP


def test_importing_over_an_existing_skill_asks_before_replacing_it(chat_page, library):
    dialog = open_skills(chat_page)
    newer = TRIP.replace("Plan a day trip by train.", "Plan a trip by train, newer.")
    data = zipped({"trip-plan/SKILL.md": newer})
    dialog.get_by_label("Import a zip…").set_input_files(
        {"name": "trip.zip", "mimeType": "application/zip", "buffer": data}
    )
    confirm = chat_page.get_by_role("dialog", name="Replace skills?")
    expect(confirm).to_contain_text("trip-plan")
    confirm.get_by_role("button", name="Replace", exact=True).click()
    expect(item(dialog, "trip-plan")).to_contain_text("Plan a trip by train, newer.")
    assert library.read("trip-plan") == newer


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_page_is_readable_and_fits_a_phone(chat_page, library, theme):
    chat_page.emulate_media(color_scheme=theme)
    chat_page.set_viewport_size({"width": 375, "height": 700})
    dialog = open_skills(chat_page)
    expect(item(dialog, "trip-plan")).to_be_visible()
    assert chat_page.evaluate("() => document.documentElement.scrollWidth") <= 375
    assert dialog.evaluate("(d) => d.scrollWidth <= d.clientWidth")
    box = dialog.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375
    result = chat_page.evaluate(LOW_CONTRAST_TEXT, AA_TEXT)
    assert result["found"] == [], result["found"]

    item(dialog, "trip-plan").get_by_role("button", name="View trip-plan").click()
    dialog.locator("#skill-view").get_by_role("button", name="Edit").click()
    assert dialog.evaluate("(d) => d.scrollWidth <= d.clientWidth")
    result = chat_page.evaluate(LOW_CONTRAST_TEXT, AA_TEXT)
    assert result["found"] == [], result["found"]
