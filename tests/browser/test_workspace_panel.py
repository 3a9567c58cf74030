"""The workspace panel: the open conversation's files beside the chat, in a real Chromium
against a real server whose model is the scripted fake.

Opening and closing it (remembered across a reload), expanding directories and paging a
large one, previews of code, Markdown and images, uploading into a directory, a file the
agent writes during a turn marked as changed while the turn still runs, and the drawer on a
phone-sized screen.
"""

from __future__ import annotations

import io
import itertools
import os
import time
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from tests.browser.chat_support import WAIT, open_app, say
from tests.browser.test_accessibility import AA_TEXT, LOW_CONTRAST_TEXT
from tests.fakes.openai_server import Reply
from tests.support import ServerProcess, request

_names = itertools.count()
CONTROLS = "'button, a.file-button, label.file-button, [role=menuitem]'"
PANEL_TEXTS = "'#workspace-panel :is(.ws-changed, .ws-summary, .ws-root, .ws-size, code, h2, h3)'"
assert CONTROLS in LOW_CONTRAST_TEXT
PANEL = "#workspace-panel"
TOGGLE = "#workspace-toggle"


def conversation(server: ServerProcess, files: dict[str, bytes | str]) -> tuple[str, Path]:
    """A stored conversation whose workspace holds `files` (paths ending in / are dirs)."""
    root = server.home / f"panel-{next(_names)}"
    root.mkdir()
    for name, content in files.items():
        target = root / name
        if name.endswith("/"):
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content if isinstance(content, bytes) else content.encode())
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    body = {"messages": messages, "workspace": str(root), "title": f"Panel {root.name}"}
    reply = request(server.base, "POST", "/api/session/import", body)
    assert reply.status == 200, reply.body
    return reply.json["session"]["session_id"], root


def entry(page: Page, path: str):
    return page.locator(f'{PANEL} li.ws-entry[data-path="{path}"]')


def open_panel(page: Page) -> None:
    page.locator(TOGGLE).click()
    expect(page.locator(PANEL)).to_be_visible()
    expect(page.locator(TOGGLE)).to_have_attribute("aria-expanded", "true")


def png(width: int = 30, height: int = 20) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "orange").save(out, "PNG")
    return out.getvalue()


def test_the_panel_opens_from_the_header_and_stays_open_after_a_reload(chat_page, chat_server):
    sid, _ = conversation(chat_server, {"src/": "", "README.md": "# Read me\n", "a.txt": "a"})
    open_app(chat_page, f"#session={sid}")
    expect(chat_page.locator(PANEL)).to_be_hidden()
    expect(chat_page.locator(TOGGLE)).to_have_attribute("aria-expanded", "false")

    open_panel(chat_page)
    names = chat_page.locator(
        f"{PANEL} #workspace-tree > .ws-group > ul > li.ws-entry > .ws-row .ws-name"
    )
    expect(names).to_have_text(["src", "a.txt", "README.md"])
    expect(entry(chat_page, "src").locator(".ws-name")).to_have_attribute("aria-expanded", "false")

    chat_page.reload()
    expect(chat_page.locator(PANEL)).to_be_visible()
    expect(names).to_have_text(["src", "a.txt", "README.md"])

    chat_page.locator(TOGGLE).click()
    expect(chat_page.locator(PANEL)).to_be_hidden()
    expect(chat_page.locator(TOGGLE)).to_be_focused()
    chat_page.reload()
    expect(chat_page.locator(PANEL)).to_be_hidden()


def test_a_directory_expands_from_the_keyboard_and_pages_with_load_more(chat_page, chat_server):
    files: dict[str, bytes | str] = {f"many/f{i:03d}.txt": "x" for i in range(205)}
    files["many/sub/"] = ""
    sid, _ = conversation(chat_server, files)
    open_app(chat_page, f"#session={sid}")
    open_panel(chat_page)

    folder = entry(chat_page, "many").locator(".ws-name").first
    folder.focus()
    chat_page.keyboard.press("Enter")
    expect(folder).to_have_attribute("aria-expanded", "true")
    children = entry(chat_page, "many").locator("li.ws-entry")
    expect(children).to_have_count(200)
    expect(children.first).to_have_attribute("data-path", "many/sub")
    more = entry(chat_page, "many").locator("button.ws-more")
    expect(more).to_have_text("Load more (6 left)")
    more.click()
    expect(children).to_have_count(206)
    expect(more).to_have_count(0)
    expect(entry(chat_page, "many/f204.txt")).to_be_visible()

    folder.click()
    expect(folder).to_have_attribute("aria-expanded", "false")
    expect(children.first).to_be_hidden()


def test_code_is_previewed_highlighted_and_markdown_rendered(chat_page, chat_server):
    sid, _ = conversation(
        chat_server,
        {"main.py": "def hello():\n    return 'world'\n", "notes.md": "# Plans\n\n- ship it\n"},
    )
    open_app(chat_page, f"#session={sid}")
    open_panel(chat_page)

    entry(chat_page, "main.py").locator(".ws-name").click()
    preview = chat_page.locator("#workspace-preview")
    expect(preview.locator(".ws-preview-title")).to_have_text("main.py")
    expect(preview.locator("pre code")).to_have_text("def hello():\n    return 'world'\n")
    expect(preview.locator("pre code .hljs-keyword").first).to_have_text("def")
    download = preview.locator("a.ws-download")
    expect(download).to_have_attribute(
        "href", f"/api/workspace/file?session_id={sid}&path=main.py&download=1"
    )

    entry(chat_page, "notes.md").locator(".ws-name").click()
    expect(preview.locator(".ws-preview-title")).to_have_text("notes.md")
    expect(preview.locator(".ws-markdown :is(h1,h2,h3)")).to_have_text("Plans")
    expect(preview.locator(".ws-markdown li")).to_have_text("ship it")


def test_an_image_is_previewed(chat_page, chat_server):
    sid, _ = conversation(chat_server, {"pictures/chart.png": png(30, 20)})
    open_app(chat_page, f"#session={sid}")
    open_panel(chat_page)
    entry(chat_page, "pictures").locator(".ws-name").first.click()
    entry(chat_page, "pictures/chart.png").locator(".ws-name").click()
    image = chat_page.locator("#workspace-preview img.ws-image")
    expect(image).to_be_visible()
    chat_page.wait_for_function(
        "() => document.querySelector('#workspace-preview img.ws-image')?.naturalWidth === 30"
    )
    expect(image).to_have_attribute("alt", "chart.png")


def test_a_file_uploaded_lands_in_the_chosen_directory_and_replaces_one_only_when_asked(
    chat_page, chat_server
):
    sid, root = conversation(chat_server, {"docs/old.txt": "old"})
    open_app(chat_page, f"#session={sid}")
    open_panel(chat_page)
    entry(chat_page, "docs").locator(".ws-name").first.click()
    expect(chat_page.locator("#workspace-target")).to_have_text("docs/")

    chat_page.set_input_files(
        "#workspace-upload",
        files=[{"name": "fresh.txt", "mimeType": "text/plain", "buffer": b"fresh bytes"}],
    )
    expect(entry(chat_page, "docs/fresh.txt")).to_be_visible()
    assert (root / "docs" / "fresh.txt").read_bytes() == b"fresh bytes"

    again = [{"name": "fresh.txt", "mimeType": "text/plain", "buffer": b"again"}]
    chat_page.set_input_files("#workspace-upload", files=again)
    dialog = chat_page.get_by_role("dialog", name="Replace the file?")
    expect(dialog).to_contain_text("docs/fresh.txt already exists")
    dialog.get_by_role("button", name="Cancel").click()
    expect(chat_page.locator("#notice")).to_contain_text("kept as it was")
    assert (root / "docs" / "fresh.txt").read_bytes() == b"fresh bytes"

    chat_page.set_input_files("#workspace-upload", files=again)
    dialog.get_by_role("button", name="Replace").click()
    expect(chat_page.locator("#notice")).to_contain_text("Uploaded docs/fresh.txt")
    assert (root / "docs" / "fresh.txt").read_bytes() == b"again"


def test_a_file_the_agent_writes_is_marked_changed_while_the_turn_runs(
    chat_page, chat_server, fake_llm
):
    sid, root = conversation(chat_server, {"existing.txt": "x"})
    open_app(chat_page, f"#session={sid}")
    open_panel(chat_page)
    expect(entry(chat_page, "existing.txt")).to_be_visible()
    chat_page.evaluate("() => { window.__sameDocument = true; }")

    fake_llm.script(
        Reply.tool_calls([("write_file", {"path": "out/report.txt", "content": "Q3 numbers"})]),
        Reply.text("I wrote the report for you " * 12, delay=0.15),
    )
    say(chat_page, "write the report")
    folder = entry(chat_page, "out")
    expect(folder).to_contain_class("has-changes", timeout=WAIT)
    assert chat_page.locator("#stop-button").is_visible(), "marked while the turn still runs"
    folder.locator(".ws-name").first.click()
    report = entry(chat_page, "out/report.txt")
    expect(report).to_contain_class("is-changed")
    expect(report.locator(".ws-changed")).to_have_text("changed")
    expect(entry(chat_page, "existing.txt")).not_to_contain_class("is-changed")
    assert (root / "out" / "report.txt").read_text() == "Q3 numbers"

    expect(chat_page.locator("#stop-button")).to_be_hidden(timeout=WAIT)
    expect(report).to_contain_class("is-changed")
    assert chat_page.evaluate("() => window.__sameDocument") is True


def test_a_file_written_during_the_turn_by_other_means_is_marked_too(
    chat_page, chat_server, fake_llm
):
    """A command the agent runs writes files the file tools never name: a file shown in the
    tree and modified since the turn began is marked as well."""
    sid, root = conversation(chat_server, {"old.txt": "x"})
    past = time.time() - 3600
    os.utime(root / "old.txt", (past, past))
    open_app(chat_page, f"#session={sid}")
    open_panel(chat_page)
    fake_llm.script(Reply.text("Running the build " * 10, delay=0.1))
    say(chat_page, "run the build")
    expect(chat_page.locator("#stop-button")).to_be_visible()
    (root / "build.log").write_text("ok\n")  # as `make > build.log` would, mid-turn
    expect(chat_page.locator("#stop-button")).to_be_hidden(timeout=WAIT)

    expect(entry(chat_page, "build.log")).to_contain_class("is-changed", timeout=WAIT)
    expect(entry(chat_page, "old.txt")).not_to_contain_class("is-changed")


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_the_panel_s_controls_and_marks_are_readable_in_both_themes(
    chat_page, chat_server, fake_llm, chat_page_errors, theme
):
    sid, _ = conversation(chat_server, {"docs/guide.md": "# Guide\n", "app.py": "x = 1\n"})
    chat_page.emulate_media(color_scheme=theme)
    open_app(chat_page, f"#session={sid}")
    open_panel(chat_page)
    fake_llm.script(
        Reply.tool_calls([("edit_file", {"path": "app.py", "old_string": "1", "new_string": "2"})]),
        Reply.text("Edited."),
    )
    say(chat_page, "edit it")
    expect(entry(chat_page, "app.py")).to_contain_class("is-changed", timeout=WAIT)
    entry(chat_page, "docs").locator(".ws-name").first.click()
    entry(chat_page, "app.py").locator(".ws-name").click()
    expect(chat_page.locator("#workspace-preview pre code")).to_have_text("x = 2\n")
    for script in (LOW_CONTRAST_TEXT, LOW_CONTRAST_TEXT.replace(CONTROLS, PANEL_TEXTS)):
        result = chat_page.evaluate(script, AA_TEXT)
        assert result["checked"] > 3
        assert result["found"] == [], "\n".join(result["found"])
    assert chat_page_errors.uncaught == []


def test_on_a_phone_the_panel_is_a_drawer_over_the_chat(browser, chat_server, fake_llm):
    sid, _ = conversation(chat_server, {"notes.txt": "on the go"})
    context = browser.new_context(viewport={"width": 375, "height": 740}, base_url=chat_server.base)
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        open_app(page, f"#session={sid}")
        expect(page.locator(TOGGLE)).to_be_visible()
        open_panel(page)
        box = page.locator(PANEL).bounding_box()
        assert box is not None and box["width"] >= 300 and box["x"] + box["width"] <= 376
        assert (
            page.evaluate(
                "() => getComputedStyle(document.getElementById('workspace-panel')).position"
            )
            == "fixed"
        )
        expect(page.locator("#workspace-close")).to_be_focused()
        entry(page, "notes.txt").locator(".ws-name").click()
        expect(page.locator("#workspace-preview pre code")).to_have_text("on the go")
        page.keyboard.press("Escape")
        expect(page.locator(PANEL)).to_be_hidden()
        expect(page.locator(TOGGLE)).to_be_focused()
    finally:
        context.close()
