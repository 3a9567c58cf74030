"""Projects in the sidebar, in a real browser: create with a colour, move into, filter, edit."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.chat_support import exchange, open_app, session_with
from tests.browser.pages import collect_errors
from tests.browser.sidebar_support import imported, load_app, open_menu, row, server_session
from tests.conftest import TEST_BASE
from tests.fakes.openai_server import Reply
from tests.support import request

TEAL = "rgb(15, 157, 138)"
RED = "rgb(214, 69, 69)"


def projects_by_name() -> dict[str, dict]:
    return {p["name"]: p for p in request(TEST_BASE, "GET", "/api/projects").json["projects"]}


def colour_of(locator) -> str:
    return locator.evaluate("(node) => getComputedStyle(node).backgroundColor")


@pytest.fixture
def project_names():
    """Names of the projects a test creates through the UI; deleted afterwards."""
    names: list[str] = []
    yield names
    existing = projects_by_name()
    for name in names:
        if name in existing:
            pid = existing[name]["project_id"]
            request(TEST_BASE, "POST", "/api/projects/delete", {"project_id": pid})


def create_project(page, name: str, colour: str) -> None:
    page.get_by_role("button", name="New project").click()
    dialog = page.get_by_role("dialog", name="New project")
    expect(dialog.get_by_label("Name")).to_be_focused()
    dialog.get_by_label("Name").fill(name)
    dialog.get_by_label(colour, exact=True).check()
    dialog.get_by_role("button", name="Create").click()
    expect(dialog).to_have_count(0)
    # The dialog closes before the project is saved; the sidebar lists it once it is.
    expect(page.locator(".project-name", has_text=name)).to_be_visible()


def test_create_a_coloured_project_move_a_session_into_it_and_filter_by_it(
    page, page_errors, cleanup_test_sessions, project_names
):
    name = f"Garden {uuid.uuid4().hex[:6]}"
    project_names.append(name)
    inside = imported(cleanup_test_sessions, f"Tomatoes {uuid.uuid4().hex[:6]}")["session_id"]
    outside = imported(cleanup_test_sessions, f"Taxes {uuid.uuid4().hex[:6]}")["session_id"]
    load_app(page)

    create_project(page, name, "Teal")
    stored = projects_by_name()[name]
    assert stored["color"] == "#0f9d8a"
    entry = page.locator(f'#project-list li[data-project="{stored["project_id"]}"]')
    expect(entry).to_contain_text(name)
    assert colour_of(entry.locator(".project-dot")) == TEAL

    open_menu(page, inside).get_by_role("menuitem", name="Move to project…").click()
    move = page.get_by_role("dialog", name="Move to project")
    move.get_by_label(name).check()
    move.get_by_role("button", name="Move").click()
    expect(row(page, inside).locator(".project-dot")).to_have_count(1)
    assert colour_of(row(page, inside).locator(".project-dot")) == TEAL
    expect(row(page, outside).locator(".project-dot")).to_have_count(0)
    assert server_session(inside).json["session"]["project_id"] == stored["project_id"]

    entry.locator(".project-filter").click()
    expect(entry.locator(".project-filter")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#session-list .session")).to_have_count(1)
    expect(row(page, inside)).to_be_visible()
    expect(row(page, outside)).to_have_count(0)

    page.get_by_role("button", name="All conversations").click()
    expect(row(page, outside)).to_be_visible()
    expect(row(page, inside)).to_be_visible()
    assert page_errors.uncaught == []


def test_editing_a_project_recolours_its_sessions_and_deleting_it_unassigns_them(
    page, page_errors, cleanup_test_sessions, project_names
):
    name = f"Kitchen {uuid.uuid4().hex[:6]}"
    renamed = f"Pantry {uuid.uuid4().hex[:6]}"
    project_names.extend([name, renamed])
    pid = request(TEST_BASE, "POST", "/api/projects/create", {"name": name, "color": "#0f9d8a"})
    pid = pid.json["project"]["project_id"]
    sid = imported(cleanup_test_sessions, f"Soup {uuid.uuid4().hex[:6]}")["session_id"]
    request(TEST_BASE, "POST", "/api/session/move", {"session_id": sid, "project_id": pid})
    load_app(page)
    assert colour_of(row(page, sid).locator(".project-dot")) == TEAL

    page.get_by_role("button", name=f"Edit project {name}").click()
    dialog = page.get_by_role("dialog", name="Edit project")
    expect(dialog.get_by_label("Teal", exact=True)).to_be_checked()
    dialog.get_by_label("Name").fill(renamed)
    dialog.get_by_label("Red", exact=True).check()
    dialog.get_by_role("button", name="Save").click()
    expect(page.locator(f'#project-list li[data-project="{pid}"]')).to_contain_text(renamed)
    expect(row(page, sid).locator(".session-open")).to_have_attribute("title", re_title(renamed))
    assert colour_of(row(page, sid).locator(".project-dot")) == RED
    assert projects_by_name()[renamed]["color"] == "#d64545"

    page.get_by_role("button", name=f"Edit project {renamed}").click()
    page.get_by_role("dialog", name="Edit project").get_by_role(
        "button", name="Delete project…"
    ).click()
    confirm = page.get_by_role("dialog", name="Delete project")
    confirm.get_by_role("button", name="Delete project").click()
    expect(page.locator(f'#project-list li[data-project="{pid}"]')).to_have_count(0)
    expect(row(page, sid).locator(".project-dot")).to_have_count(0)
    assert renamed not in projects_by_name()
    assert server_session(sid).json["session"]["project_id"] is None
    assert page_errors.uncaught == []


def re_title(project_name: str):
    return re.compile(rf"\({re.escape(project_name)}\)$")


def test_a_new_chat_started_under_a_project_filter_belongs_to_that_project_and_stays_listed(
    chat_page, chat_server, fake_llm
):
    errors = collect_errors(chat_page)
    created = request(chat_server.base, "POST", "/api/projects/create", {"name": "Holidays"})
    pid = created.json["project"]["project_id"]
    fake_llm.script(Reply.text("Lisbon in May is lovely."))
    open_app(chat_page)

    chat_page.locator(f'#project-list li[data-project="{pid}"] .project-filter').click()
    expect(chat_page.locator("#session-list .list-empty")).to_have_text(
        "No conversations in this project."
    )
    chat_page.get_by_role("button", name="New chat").click()
    exchange(chat_page, "Plan a trip to Lisbon", "Lisbon in May is lovely.")

    sid = session_with(chat_server, "Plan a trip to Lisbon")
    assert server_session(sid, chat_server.base).json["session"]["project_id"] == pid
    expect(chat_page.locator("#session-list .session")).to_have_count(1)
    expect(row(chat_page, sid)).to_be_visible()
    expect(row(chat_page, sid)).to_have_class(re.compile(r"\bis-current\b"))
    expect(row(chat_page, sid).locator(".project-dot")).to_have_count(1)
    assert errors.uncaught == [] and errors.console == []
