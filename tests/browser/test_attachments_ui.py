"""Files attached to a message in the browser: the paperclip, a drop on the chat and a paste
into the message box make chips (thumbnail, name, size, progress, error, remove); Send takes
them to the model; the transcript shows them (thumbnails that open large, download chips),
also after a reload; a note says when the model cannot see images; a phone fits them."""

from __future__ import annotations

import base64
import hashlib
import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.browser.chat_support import (
    ANSWERS,
    WAIT,
    open_app,
    say,
    session_with,
    wait_for_partial,
)
from tests.browser.pages import HeldRequests, collect_errors, wait_until_loaded
from tests.browser.sidebar_support import imported, row
from tests.fakes.openai_server import Reply
from tests.support import ServerProcess, fake_provider_env, read_events, request

BLIND = "fake-blind"  # a model the vision patterns do not match
NOTE = "This model can't see images; it gets a note instead"
TRAY = "#attachment-tray"
CHIPS = f"{TRAY} .attachment-chip"
QUEUED = "1 message queued; sent when this answer ends"


@pytest.fixture(scope="module")
def chat_server(fake_llm, tmp_path_factory) -> ServerProcess:
    """The scripted provider's default model sees images here; BLIND does not."""
    env = fake_provider_env(fake_llm, HERMES_VISION_MODELS="fake-model")
    server = ServerProcess(tmp_path_factory.mktemp("ui-attachments"), extra_env=env)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def png(width: int = 64, height: int = 48, colour: str = "teal") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


def file_id(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def attach(page, *files: tuple[str, str, bytes]) -> None:
    """Chooses `files` (name, type, bytes) in the paperclip's file dialog."""
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Attach files").click()
    chooser.value.set_files([{"name": n, "mimeType": t, "buffer": b} for n, t, b in files])


def user_parts(fake) -> list[dict]:
    """The content parts of the last user message the provider received."""
    content = [m for m in fake.requests[-1]["messages"] if m["role"] == "user"][-1]["content"]
    return content if isinstance(content, list) else [{"type": "text", "text": content}]


def send_and_wait(page, fake, text: str, answer: str = "Seen.") -> None:
    fake.script(Reply.text(answer))
    say(page, text) if text else page.get_by_role("button", name="Send").click()
    expect(page.locator(ANSWERS).last).to_have_text(answer, timeout=WAIT)
    expect(page.locator("#stop-button")).to_be_hidden(timeout=WAIT)


def in_page_files(page, files: list[tuple[str, str, bytes]]) -> None:
    """Puts a DataTransfer holding `files` in the page as `window.testFiles`."""
    page.evaluate(
        """(files) => {
          const transfer = new DataTransfer();
          for (const [name, type, data] of files) {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            transfer.items.add(new File([bytes], name, { type }));
          }
          window.testFiles = transfer;
        }""",
        [[n, t, base64.b64encode(b).decode()] for n, t, b in files],
    )


def teach_the_provider(server: ServerProcess, fake, model: str) -> None:
    """The fake lists the models it was asked for: one turn makes `model` one of them."""
    sid = request(server.base, "POST", "/api/session/new", {}).json["session"]["session_id"]
    fake.script(Reply.text("ok"))
    body = {"session_id": sid, "message": "hello", "model": model}
    reply = request(server.base, "POST", "/api/chat/start", body)
    assert reply.status == 200, reply.body
    read_events(server.base, reply.json["stream_id"])


def test_an_attached_image_uploads_with_progress_reaches_the_model_and_stays_in_the_transcript(
    chat_page, chat_server, fake_llm
):
    errors = collect_errors(chat_page)
    image = png(64, 48, "crimson")
    open_app(chat_page)
    held = HeldRequests(chat_page, "**/api/upload")
    attach(chat_page, ("red.png", "image/png", image))
    held.wait()
    chip = chat_page.locator(CHIPS)
    expect(chip).to_have_count(1)
    expect(chip).to_have_class(re.compile("is-uploading"))
    expect(chip.get_by_role("progressbar", name="Uploading red.png")).to_be_visible()
    expect(chip).to_contain_text("red.png")
    expect(chat_page.get_by_role("button", name="Send")).to_be_disabled()
    held.release()

    thumb = chip.locator("img")
    expect(thumb).to_have_attribute("src", f"/api/attachment/{file_id(image)}/thumbnail")
    chat_page.wait_for_function(
        "() => document.querySelector('#attachment-tray .attachment-chip img')?.naturalWidth > 0"
    )
    expect(chip.get_by_role("progressbar")).to_have_count(0)
    expect(chip).to_contain_text(f"{len(image)} B")
    expect(chat_page.get_by_role("button", name="Send")).to_be_enabled()

    send_and_wait(chat_page, fake_llm, "What colour is this?")
    parts = user_parts(fake_llm)
    assert parts[0] == {"type": "text", "text": "What colour is this?"}
    picture = next(p for p in parts if p["type"] == "image_url")
    assert base64.b64decode(picture["image_url"]["url"].split(",", 1)[1]) == image
    expect(chat_page.locator(CHIPS)).to_have_count(0)

    shown = chat_page.locator("#messages .msg-user").last
    expect(shown).to_contain_text("What colour is this?")
    thumbnail = shown.get_by_role("button", name="Open red.png")
    expect(thumbnail.locator("img")).to_have_attribute(
        "src", f"/api/attachment/{file_id(image)}/thumbnail"
    )
    chat_page.reload()
    wait_until_loaded(chat_page)
    shown = chat_page.locator("#messages .msg-user").last
    expect(shown.get_by_role("button", name="Open red.png")).to_be_visible()
    expect(shown.locator(".plain")).to_have_text("What colour is this?")  # not the file's name
    chat_page.wait_for_function(
        "() => document.querySelector('#messages .msg-user .attachment-thumb img')"
        "?.naturalWidth > 0"
    )
    assert errors.uncaught == []


def test_files_dropped_on_the_chat_are_attached_and_sendable_without_text(
    chat_page, chat_server, fake_llm
):
    notes = b"rain,city\n12,Lisbon\n200,Bergen\n"
    open_app(chat_page)
    in_page_files(chat_page, [("rain.csv", "text/csv", notes)])
    chat_page.evaluate(
        """() => document.getElementById('messages').dispatchEvent(new DragEvent('dragenter',
          { bubbles: true, cancelable: true, dataTransfer: window.testFiles }))"""
    )
    zone = chat_page.locator("#drop-zone")
    expect(zone).to_be_visible()
    expect(zone).to_contain_text("Drop files to attach")
    chat_page.evaluate(
        """() => document.getElementById('messages').dispatchEvent(new DragEvent('drop',
          { bubbles: true, cancelable: true, dataTransfer: window.testFiles }))"""
    )
    expect(zone).to_be_hidden()
    chip = chat_page.locator(CHIPS)
    expect(chip).to_contain_text("rain.csv")
    expect(chip).to_have_class(re.compile("is-ready"))

    send_and_wait(chat_page, fake_llm, "")
    parts = user_parts(fake_llm)
    assert parts[0] == {"type": "text", "text": "Attached: rain.csv"}
    assert "200,Bergen" in parts[1]["text"]
    expect(chat_page.locator("#messages .msg-user").last).to_contain_text("Attached: rain.csv")


def test_an_image_pasted_into_the_message_box_is_attached(chat_page, chat_server, fake_llm):
    image = png(20, 20, "gold")
    open_app(chat_page)
    in_page_files(chat_page, [("image.png", "image/png", image)])
    chat_page.locator("#message-input").fill("keep this text")
    chat_page.evaluate(
        """() => document.getElementById('message-input').dispatchEvent(new ClipboardEvent(
          'paste', { bubbles: true, cancelable: true, clipboardData: window.testFiles }))"""
    )
    chip = chat_page.locator(CHIPS)
    expect(chip.locator("img")).to_have_attribute(
        "src", f"/api/attachment/{file_id(image)}/thumbnail"
    )
    expect(chat_page.locator("#message-input")).to_have_value("keep this text")
    send_and_wait(chat_page, fake_llm, "pasted")
    assert any(p["type"] == "image_url" for p in user_parts(fake_llm))


def test_a_removed_chip_is_not_sent(chat_page, chat_server, fake_llm):
    open_app(chat_page)
    attach(
        chat_page,
        ("keep.txt", "text/plain", b"kept words"),
        ("drop.txt", "text/plain", b"dropped words"),
    )
    expect(chat_page.locator(f"{CHIPS}.is-ready")).to_have_count(2)
    chat_page.get_by_role("button", name="Remove drop.txt").click()
    expect(chat_page.locator(CHIPS)).to_have_count(1)
    expect(chat_page.locator(CHIPS)).to_contain_text("keep.txt")

    send_and_wait(chat_page, fake_llm, "one file")
    sent = " ".join(p.get("text", "") for p in user_parts(fake_llm))
    assert "kept words" in sent and "dropped words" not in sent


def test_a_file_over_the_limit_shows_the_reason_and_is_not_sent(
    chat_page, chat_server, fake_llm, tmp_path
):
    big = tmp_path / "huge.bin"
    with big.open("wb") as f:
        f.truncate(26 * 1024 * 1024)
    open_app(chat_page)
    with chat_page.expect_file_chooser() as chooser:
        chat_page.get_by_role("button", name="Attach files").click()
    chooser.value.set_files(str(big))
    chip = chat_page.locator(f"{CHIPS}.is-error")
    expect(chip).to_contain_text("huge.bin", timeout=WAIT)
    expect(chip).to_contain_text("too large (limit 25 MB a file)")
    expect(chat_page.get_by_role("button", name="Send")).to_be_enabled()

    send_and_wait(chat_page, fake_llm, "nothing attached")
    assert user_parts(fake_llm) == [{"type": "text", "text": "nothing attached"}]
    expect(chat_page.locator(CHIPS)).to_have_count(0)
    sid = session_with(chat_server, "nothing attached")
    stored = request(chat_server.base, "GET", f"/api/session?session_id={sid}").json
    assert "attachments" not in stored["session"]["messages"][0]


def test_a_file_that_is_not_an_image_downloads_its_exact_bytes(chat_page, chat_server, fake_llm):
    data = bytes(range(256)) * 40
    open_app(chat_page)
    attach(chat_page, ("blob.dat", "application/octet-stream", data))
    expect(chat_page.locator(CHIPS)).to_contain_text("blob.dat")
    expect(chat_page.locator(CHIPS)).to_contain_text("10.0 KB")
    expect(chat_page.locator(f"{CHIPS} img:visible")).to_have_count(0)
    send_and_wait(chat_page, fake_llm, "a binary file")

    for _ in range(2):  # as sent, then after a reload
        link = chat_page.locator("#messages .msg-user").last.get_by_role("link", name="blob.dat")
        expect(link).to_have_attribute("href", f"/api/attachment/{file_id(data)}")
        expect(link).to_contain_text("10.0 KB")
        with chat_page.expect_download() as download:
            link.click()
        assert download.value.suggested_filename == "blob.dat"
        with open(download.value.path(), "rb") as f:
            assert f.read() == data
        chat_page.reload()
        wait_until_loaded(chat_page)


def test_an_image_in_the_transcript_opens_large_and_escape_closes_it(
    chat_page, chat_server, fake_llm
):
    image = png(400, 300, "navy")
    open_app(chat_page)
    attach(chat_page, ("wide.png", "image/png", image))
    expect(chat_page.locator(f"{CHIPS} img")).to_be_visible()
    send_and_wait(chat_page, fake_llm, "a big one")

    shown = chat_page.locator("#messages .msg-user").last
    opener = shown.get_by_role("button", name="Open wide.png")
    opener.click()
    dialog = chat_page.get_by_role("dialog", name="wide.png")
    expect(dialog).to_be_visible()
    large = dialog.get_by_role("img", name="wide.png")
    expect(large).to_have_attribute("src", f"/api/attachment/{file_id(image)}")
    chat_page.wait_for_function(
        "() => document.querySelector('dialog.lightbox[open] img')?.naturalWidth === 400"
    )
    chat_page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()

    opener.click()
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()


def test_a_note_says_when_the_chosen_model_cannot_see_an_attached_image(
    chat_page, chat_server, fake_llm
):
    teach_the_provider(chat_server, fake_llm, BLIND)
    picker = chat_page.get_by_label("Model for this conversation")
    open_app(chat_page)
    attach(chat_page, ("notes.txt", "text/plain", b"just text"))
    expect(chat_page.locator(f"{CHIPS}.is-ready")).to_have_count(1)
    picker.select_option(BLIND)
    expect(chat_page.get_by_text(NOTE)).to_be_hidden()  # no image: nothing to say

    attach(chat_page, ("photo.png", "image/png", png(30, 20)))
    expect(chat_page.get_by_text(NOTE)).to_be_visible()
    picker.select_option("")  # the default model sees images
    expect(chat_page.get_by_text(NOTE)).to_be_hidden()
    picker.select_option(BLIND)
    expect(chat_page.get_by_text(NOTE)).to_be_visible()

    send_and_wait(chat_page, fake_llm, "describe it")
    assert fake_llm.requests[-1]["model"] == BLIND
    parts = user_parts(fake_llm)
    assert all(p["type"] == "text" for p in parts)
    assert any("photo.png, 30×20" in p["text"] and "cannot see images" in p["text"] for p in parts)
    expect(chat_page.get_by_text(NOTE)).to_be_hidden()


def test_chips_stay_with_the_conversation_they_were_added_in(chat_page, chat_server, fake_llm):
    created: list[str] = []
    first = imported(created, "Files one", "hi", "hello", base=chat_server.base)["session_id"]
    second = imported(created, "Files two", "hey", "yes?", base=chat_server.base)["session_id"]
    open_app(chat_page, f"#session={first}")
    attach(chat_page, ("for-one.txt", "text/plain", b"only for the first"))
    expect(chat_page.locator(CHIPS)).to_contain_text("for-one.txt")

    row(chat_page, second).locator(".session-open").click()
    expect(chat_page.locator("#chat-title")).to_have_text("Files two")
    expect(chat_page.locator(CHIPS)).to_have_count(0)
    send_and_wait(chat_page, fake_llm, "plain words for two")
    assert user_parts(fake_llm) == [{"type": "text", "text": "plain words for two"}]

    row(chat_page, first).locator(".session-open").click()
    expect(chat_page.locator("#chat-title")).to_have_text("Files one")
    expect(chat_page.locator(CHIPS)).to_contain_text("for-one.txt")
    send_and_wait(chat_page, fake_llm, "now with the file")
    assert "only for the first" in " ".join(p.get("text", "") for p in user_parts(fake_llm))


def test_more_than_ten_files_are_not_added_and_a_note_says_why(chat_page, chat_server, fake_llm):
    open_app(chat_page)
    attach(chat_page, *[(f"f{i}.txt", "text/plain", f"file {i}".encode()) for i in range(12)])
    expect(chat_page.locator(CHIPS)).to_have_count(10)
    expect(chat_page.locator(TRAY)).to_contain_text("At most 10 files a message: 2 not added.")
    chat_page.get_by_role("button", name="Remove f0.txt").click()
    expect(chat_page.locator(TRAY)).not_to_contain_text("At most 10")


def test_at_phone_width_chips_wrap_and_nothing_overflows(chat_page, chat_server, fake_llm):
    chat_page.set_viewport_size({"width": 375, "height": 700})
    open_app(chat_page)
    long = "a-very-long-file-name-that-would-never-fit-on-a-phone-screen"
    attach(
        chat_page,
        ("photo.png", "image/png", png()),
        *[(f"{long}-{i}.txt", "text/plain", f"text {i}".encode()) for i in range(3)],
    )
    expect(chat_page.locator(f"{CHIPS}.is-ready")).to_have_count(4)
    expect(chat_page.get_by_role("button", name="Attach files")).to_be_visible()
    boxes = [chip.bounding_box() for chip in chat_page.locator(CHIPS).all()]
    assert len({round(box["y"]) for box in boxes}) > 1, "the chips wrap onto several rows"
    assert all(box["x"] >= 0 and box["x"] + box["width"] <= 375 for box in boxes)
    width = chat_page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 375, "nothing overflows sideways at phone width"
    send_and_wait(chat_page, fake_llm, "from a phone")
    expect(chat_page.locator("#messages .msg-user").last).to_be_visible()
    right_edges = chat_page.evaluate(
        """() => [...document.querySelectorAll('#messages .msg-user')]
                   .map((bubble) => bubble.getBoundingClientRect().right)"""
    )
    assert right_edges and max(right_edges) <= 375, "the sent message fits the phone"
    assert chat_page.evaluate("() => document.documentElement.scrollWidth") <= 375


def sent_text(fake) -> str:
    return " ".join(p.get("text", "") for p in user_parts(fake))


def test_retry_and_edit_send_the_message_with_its_files_again(chat_page, chat_server, fake_llm):
    open_app(chat_page)
    attach(chat_page, ("facts.txt", "text/plain", b"the sky is green here"))
    expect(chat_page.locator(f"{CHIPS}.is-ready")).to_have_count(1)
    send_and_wait(chat_page, fake_llm, "read this", "First.")

    fake_llm.script(Reply.text("Second."))
    chat_page.locator("#retry-button").click()
    expect(chat_page.locator(ANSWERS).last).to_have_text("Second.", timeout=WAIT)
    assert "the sky is green here" in sent_text(fake_llm)
    expect(chat_page.locator("#messages .msg-user").last.get_by_role("link")).to_contain_text(
        "facts.txt"
    )

    fake_llm.script(Reply.text("Third."))
    chat_page.get_by_role("button", name="Edit your last message").click()
    editor = chat_page.get_by_role("textbox", name="Edit your message")
    editor.fill("read this again")
    editor.press("Enter")
    expect(chat_page.locator(ANSWERS).last).to_have_text("Third.", timeout=WAIT)
    assert "read this again" in sent_text(fake_llm)
    assert "the sky is green here" in sent_text(fake_llm)
    expect(chat_page.locator("#stop-button")).to_be_hidden(timeout=WAIT)
    expect(chat_page.locator("#messages .msg-user")).to_have_count(1)


def test_files_sent_during_an_answer_wait_with_their_message_and_come_back_on_stop(
    chat_page, chat_server, fake_llm
):
    open_app(chat_page)
    fake_llm.script(Reply.text(" ".join(f"tide{i}" for i in range(80)), delay=0.08))
    say(chat_page, "a long answer please")
    expect(chat_page.locator("#stop-button")).to_be_visible()
    attach(chat_page, ("later.txt", "text/plain", b"queued words"))
    expect(chat_page.locator(f"{CHIPS}.is-ready")).to_have_count(1)
    say(chat_page, "with a file")
    expect(chat_page.locator("#queued")).to_have_text(
        "1 message queued; sent when this answer ends"
    )
    expect(chat_page.locator(CHIPS)).to_have_count(0)

    chat_page.locator("#stop-button").click()
    expect(chat_page.locator("#message-input")).to_have_value("with a file")
    expect(chat_page.locator(CHIPS)).to_contain_text("later.txt")
    expect(chat_page.locator("#stop-button")).to_be_hidden(timeout=WAIT)

    fake_llm.script(Reply.text("Queued one.", delay=0.5), Reply.text("Then this."))
    chat_page.locator("#message-input").press("Enter")
    expect(chat_page.locator("#stop-button")).to_be_visible()
    say(chat_page, "and a plain one")
    expect(chat_page.locator(ANSWERS).last).to_have_text("Then this.", timeout=WAIT)
    first, second = (
        [m for m in request_["messages"] if m["role"] == "user"][-1]
        for request_ in fake_llm.requests[-2:]
    )
    assert "queued words" in str(first["content"])
    assert second["content"] == "and a plain one"


def test_with_a_password_set_uploads_carry_the_csrf_token(browser, fake_llm, tmp_path):
    env = fake_provider_env(fake_llm, HERMES_WEBUI_PASSWORD="attach with a password")
    server = ServerProcess(tmp_path, extra_env=env)
    server.start()
    context = browser.new_context(base_url=server.base)
    try:
        page = context.new_page()
        page.goto("/")
        page.wait_for_url("**/login")
        page.get_by_label("Password").fill("attach with a password")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(server.base + "/")
        wait_until_loaded(page)
        attach(page, ("locked.txt", "text/plain", b"behind a password"))
        expect(page.locator(f"{CHIPS}.is-ready")).to_contain_text("locked.txt")
        send_and_wait(page, fake_llm, "through the guard")
        assert "behind a password" in sent_text(fake_llm)
    finally:
        context.close()
        server.stop()


def test_a_reload_during_the_answer_shows_the_message_with_its_files(
    chat_page, chat_server, fake_llm
):
    image = png(32, 32, "olive")
    open_app(chat_page)
    attach(chat_page, ("olive.png", "image/png", image))
    expect(chat_page.locator(f"{CHIPS}.is-ready")).to_have_count(1)
    fake_llm.script(Reply.text(" ".join(f"leaf{i}" for i in range(120)), delay=0.08))
    say(chat_page, "still answering")
    wait_for_partial(chat_page, "leaf1", "leaf119")
    chat_page.reload()
    wait_until_loaded(chat_page)
    expect(chat_page.locator("#messages .is-live")).to_have_count(1)
    mine = chat_page.locator("#messages .msg-user").last
    expect(mine.locator(".plain")).to_have_text("still answering")
    expect(mine.get_by_role("button", name="Open olive.png")).to_be_visible()
    expect(chat_page.locator("#messages .is-live")).to_have_count(1)  # shown while it runs
    expect(chat_page.locator("#stop-button")).to_be_hidden(timeout=WAIT)
    mine = chat_page.locator("#messages .msg-user")
    expect(mine).to_have_count(1)
    expect(mine.get_by_role("button", name="Open olive.png")).to_be_visible()
