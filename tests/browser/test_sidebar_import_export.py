"""Import through the sidebar's file input and export through the session menu, in a browser."""

from __future__ import annotations

import io
import json
import pathlib
import re
import uuid
import zipfile

import pytest
from playwright.sync_api import expect

from tests.browser.sidebar_support import (
    imported,
    listed_ids,
    load_app,
    open_menu,
    row,
    server_session,
)

IMPORT = "Import…"


def as_file(name: str, data: bytes) -> dict:
    return {"name": name, "mimeType": "application/json", "buffer": data}


def turns(messages: list[dict]) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in messages]


def current_session_id(page) -> str:
    return page.evaluate("() => localStorage.getItem('hermes.currentSession')")


def test_import_opens_the_session_and_its_json_export_round_trips(
    page, page_errors, cleanup_test_sessions
):
    token = uuid.uuid4().hex[:6]
    messages = [
        {"role": "user", "content": f"Plan a picnic {token}"},
        {"role": "assistant", "content": "Bring **bread** and cheese."},
        {"role": "user", "content": "And drinks?"},
        {"role": "assistant", "content": "Lemonade, in a flask."},
    ]
    export = {
        "session_id": "fromelsewhere1",
        "title": f"Picnic {token}",
        "workspace": "/no/such/folder/on/this/machine",
        "messages": messages,
    }
    load_app(page)
    page.get_by_label(IMPORT).set_input_files(as_file("picnic.json", json.dumps(export).encode()))

    expect(page.locator("#chat-title")).to_have_text(f"Picnic {token}")
    expect(page.locator("#messages")).to_contain_text("Lemonade, in a flask.")
    expect(page.locator("#messages")).to_contain_text(f"Plan a picnic {token}")
    expect(page.locator("#notice")).to_contain_text(f'Imported "Picnic {token}"')
    sid = current_session_id(page)
    cleanup_test_sessions.append(sid)
    assert sid != "fromelsewhere1"
    expect(row(page, sid)).to_have_class(re.compile(r"\bis-current\b"))
    assert turns(server_session(sid).json["session"]["messages"]) == turns(messages)

    with page.expect_download() as info:
        open_menu(page, sid).get_by_role("menuitem", name="Export JSON").click()
    download = info.value
    assert download.suggested_filename == f"Picnic {token}.json"
    exported = json.loads(pathlib.Path(download.path()).read_bytes())
    assert exported["title"] == f"Picnic {token}"
    assert turns(exported["messages"]) == turns(messages)

    with page.expect_download() as info:
        open_menu(page, sid).get_by_role("menuitem", name="Export Markdown").click()
    markdown = info.value
    assert markdown.suggested_filename == f"Picnic {token}.md"
    text = pathlib.Path(markdown.path()).read_text()
    assert f"Plan a picnic {token}" in text and "Lemonade, in a flask." in text

    page.get_by_label(IMPORT).set_input_files(
        as_file("again.json", pathlib.Path(download.path()).read_bytes())
    )
    expect(page.locator("#notice")).to_contain_text(f'Imported "Picnic {token}"')
    page.wait_for_function(
        "(old) => localStorage.getItem('hermes.currentSession') !== old", arg=sid
    )
    again = current_session_id(page)
    cleanup_test_sessions.append(again)
    assert turns(server_session(again).json["session"]["messages"]) == turns(messages)
    assert page_errors.uncaught == []


@pytest.mark.parametrize(
    ("title", "saved"),
    [("../../etc/passwd", "etc passwd"), ("Trip 🌍 to Lisbon", "Trip 🌍 to Lisbon")],
    ids=["path", "emoji"],
)
def test_an_export_is_saved_under_its_title_made_safe(
    page, page_errors, cleanup_test_sessions, title, saved
):
    sid = imported(cleanup_test_sessions, title, "hello", "hi")["session_id"]
    load_app(page)
    for item, suffix in (("Export JSON", "json"), ("Export Markdown", "md")):
        with page.expect_download() as info:
            open_menu(page, sid).get_by_role("menuitem", name=item).click()
        assert info.value.suggested_filename == f"{saved}.{suffix}"
    assert page_errors.uncaught == []


def test_importing_a_file_that_is_not_json_says_so_and_stores_nothing(
    page, page_errors, cleanup_test_sessions
):
    load_app(page)
    before = set(listed_ids())
    page.get_by_label(IMPORT).set_input_files(as_file("notes.json", b"this is not { json"))
    notice = page.locator("#notice")
    expect(notice).to_contain_text("Could not import notes.json: it is not a JSON file.")
    expect(notice).to_have_attribute("data-kind", "error")
    assert set(listed_ids()) == before
    assert page_errors.uncaught == []


def test_importing_json_without_messages_is_refused_in_the_page(page, page_errors):
    load_app(page)
    before = set(listed_ids())
    page.get_by_label(IMPORT).set_input_files(as_file("list.json", b"[1, 2, 3]"))
    expect(page.locator("#notice")).to_contain_text('no "messages" list')
    expect(page.locator("#notice")).to_have_attribute("data-kind", "error")
    assert set(listed_ids()) == before
    assert page_errors.uncaught == []


def test_a_server_refusal_is_shown_with_the_servers_reason(
    page, page_errors, cleanup_test_sessions
):
    load_app(page)
    before = set(listed_ids())
    bad = {"title": "Odd", "messages": [{"role": "wizard", "content": "abracadabra"}]}
    page.get_by_label(IMPORT).set_input_files(as_file("odd.json", json.dumps(bad).encode()))
    notice = page.locator("#notice")
    expect(notice).to_contain_text("Could not import odd.json:")
    expect(notice).to_contain_text("role must be one of")
    expect(notice).to_have_attribute("data-kind", "error")
    assert set(listed_ids()) == before
    assert page_errors.uncaught == []


def test_a_zip_export_imports_whole_and_opens_its_first_conversation(
    page, page_errors, cleanup_test_sessions
):
    token = uuid.uuid4().hex[:6]
    export = {"title": f"Zipped {token}", "messages": [{"role": "user", "content": f"hi {token}"}]}
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("hermes-old1.json", json.dumps(export))
    load_app(page)
    page.get_by_label(IMPORT).set_input_files(
        {"name": "backup.zip", "mimeType": "application/zip", "buffer": data.getvalue()}
    )

    expect(page.locator("#chat-title")).to_have_text(f"Zipped {token}")
    expect(page.locator("#notice")).to_contain_text("Imported 1 conversations and 0 files")
    sid = current_session_id(page)
    cleanup_test_sessions.append(sid)
    assert server_session(sid).json["session"]["messages"][0]["content"] == f"hi {token}"
    assert page_errors.uncaught == []
