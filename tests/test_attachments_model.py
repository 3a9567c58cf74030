"""Attached files reach the model as it can take them, through the real providers: the fake
OpenAI-compatible and Anthropic servers check the exact image bytes and file text received."""

from __future__ import annotations

import base64
import sqlite3

import pytest

from hermes_state import SessionDB
from tests.fakes.anthropic_server import AnthropicReply, FakeAnthropic
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.support import ServerProcess, fake_provider_env, read_events, request
from tests.test_attachments_api import png, upload

# A one-page PDF whose text layer says "Hello from a PDF", written by hand.
PDF_STREAM = b"BT /F1 24 Tf 72 700 Td (Hello from a PDF) Tj ET"
PDF_OBJECTS = [
    b"<< /Type /Catalog /Pages 2 0 R >>",
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
    b"/Resources << /Font << /F1 5 0 R >> >> >>",
    b"<< /Length %d >>\nstream\n" % len(PDF_STREAM) + PDF_STREAM + b"\nendstream",
    b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
]


def pdf_bytes() -> bytes:
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(PDF_OBJECTS, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(PDF_OBJECTS) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(PDF_OBJECTS) + 1,
        xref,
    )
    return out


@pytest.fixture(scope="module")
def vision(tmp_path_factory, fake):
    server = ServerProcess(
        tmp_path_factory.mktemp("vision"),
        extra_env=fake_provider_env(fake, HERMES_VISION_MODELS="*"),
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def blind(tmp_path_factory, fake):
    server = ServerProcess(
        tmp_path_factory.mktemp("blind"),
        extra_env=fake_provider_env(fake, HERMES_VISION_MODELS="some-other-model"),
    )
    server.start()
    yield server
    server.stop()


def turn(server: ServerProcess, fake, text: str, files: list[tuple[str, bytes]], sid=None):
    sid = sid or request(server.base, "POST", "/api/session/new", {}).json["session"]["session_id"]
    ids = [upload(server, name, data).json["id"] for name, data in files]
    fake.script(Reply.text("Seen."))
    body = {"session_id": sid, "message": text, "attachments": ids}
    started = request(server.base, "POST", "/api/chat/start", body)
    assert started.status == 200, started.body
    assert read_events(server.base, started.json["stream_id"])[-1][0] == "stream_end"
    return sid, fake.requests[-1]["messages"]


def last_user_parts(messages: list[dict]) -> list[dict]:
    content = [m for m in messages if m["role"] == "user"][-1]["content"]
    assert isinstance(content, list), content
    return content


def test_a_model_that_sees_images_gets_the_exact_bytes_and_again_in_the_next_turn(vision, fake):
    image = png(64, 48, "crimson")
    sid, sent = turn(vision, fake, "What colour is this?", [("red.png", image)])
    text, label, picture = last_user_parts(sent)
    assert text == {"type": "text", "text": "What colour is this?"}
    assert label["text"].startswith("[Image attached: red.png (attachment:")
    assert picture["type"] == "image_url"
    prefix, data = picture["image_url"]["url"].split(",", 1)
    assert prefix == "data:image/png;base64"
    assert base64.b64decode(data) == image

    _, again = turn(vision, fake, "And now?", [], sid=sid)
    first_user = next(m for m in again if m["role"] == "user")
    assert base64.b64decode(first_user["content"][2]["image_url"]["url"].split(",", 1)[1]) == image

    db = vision.root / "hermes-home" / "state.db"
    with sqlite3.connect(db) as conn:
        stored = "".join(row[0] or "" for row in conn.execute("SELECT content FROM messages"))
    conn.close()
    assert data[:200] not in stored, "state.db keeps a reference to the file, not its bytes"
    assert "red.png" in stored

    found = request(vision.base, "GET", "/api/sessions/search?q=red.png").json["sessions"]
    assert [r["session_id"] for r in found] == [sid], "the web search finds files by name"
    with SessionDB(db) as store:
        assert [m["session_id"] for m in store.search_messages("red.png")] == [sid]


def test_a_model_that_cannot_see_images_is_told_so_instead_of_getting_an_error(blind, fake):
    _, sent = turn(blind, fake, "Describe it", [("photo.png", png(30, 20))])
    parts = last_user_parts(sent)
    assert [p["type"] for p in parts] == ["text", "text"]
    assert "photo.png, 30×20" in parts[1]["text"]
    assert "cannot see images" in parts[1]["text"]


def test_the_model_list_says_whether_the_model_sees_images_as_its_turns_do(vision, blind):
    for server, sees in ((vision, True), (blind, False)):
        data = request(server.base, "GET", "/api/models").json
        assert data["current"] == "fake-model"
        assert data["vision"]["fake-model"] is sees
        assert set(data["vision"]) == {*data["models"], data["current"]}


def test_text_files_are_inlined_with_their_name(blind, fake):
    csv = b"city,rain\nLisbon,12\nBergen,200\n"
    _, sent = turn(blind, fake, "Which is wetter?", [("rain.csv", csv)])
    note = last_user_parts(sent)[1]["text"]
    assert note.startswith("[Attached file rain.csv (attachment:")
    assert "Bergen,200" in note


def test_a_pdf_arrives_as_its_text_with_the_page_count(blind, fake):
    sid, sent = turn(blind, fake, "Summarise", [("letter.pdf", pdf_bytes())])
    found = request(blind.base, "GET", "/api/sessions/search?q=hello%20from%20a%20pdf").json
    assert [r["session_id"] for r in found["sessions"]] == [sid], "its text is searchable"
    with SessionDB(blind.root / "hermes-home" / "state.db") as store:
        assert [m["session_id"] for m in store.search_messages("Hello from a PDF")] == [sid]
    note = last_user_parts(sent)[1]["text"]
    heading = note.splitlines()[0]
    assert heading.startswith("[Attached PDF letter.pdf (attachment:")
    assert heading.endswith(", 1 page:]")
    assert "Hello from a PDF" in note


def test_the_agent_reads_an_attached_file_and_saves_it_to_the_workspace_only_when_asked(
    blind, fake
):
    csv = b"day,steps\nmon,4000\ntue,9000\n"
    sid = request(blind.base, "POST", "/api/session/new", {}).json["session"]["session_id"]
    ref = "attachment:" + upload(blind, "steps.csv", csv).json["id"]
    fake.script(
        Reply.tool_calls([("read_file", {"path": ref})]),
        Reply.tool_calls([("read_file", {"path": "attachment:../../state.db"})]),
        Reply.tool_calls([("save_attachment", {"attachment": ref, "path": "data/steps.csv"})]),
        Reply.text("Saved."),
    )
    body = {"session_id": sid, "message": "Keep my steps file", "attachments": [ref[11:]]}
    started = request(blind.base, "POST", "/api/chat/start", body)
    read_events(blind.base, started.json["stream_id"], timeout=30)

    results = [m["content"] for m in fake.requests[-1]["messages"] if m["role"] == "tool"]
    assert "tue,9000" in results[0], "read from the store, where it is"
    assert "not an attached file" in results[1], "no path out of the store"
    assert "Wrote" in results[2]
    assert (blind.workspace / "data" / "steps.csv").read_bytes() == csv
    assert not (blind.workspace / "steps.csv").exists(), "nothing copied unasked"


def test_anthropic_gets_an_image_block_with_the_exact_bytes(tmp_path):
    image = png(16, 16, "gold")
    with FakeAnthropic() as claude:
        server = ServerProcess(
            tmp_path,
            extra_env={
                "HERMES_PROVIDER": "anthropic",
                "HERMES_BASE_URL": claude.base_url,
                "HERMES_API_KEY": "test-key",
                "HERMES_MODEL": "claude-test",
                "HERMES_MAX_RETRIES": "0",
                "HERMES_LLM_TITLES": "0",
            },
        )
        server.start()
        try:
            sid = request(server.base, "POST", "/api/session/new", {}).json["session"]["session_id"]
            attachment = upload(server, "gold.png", image).json["id"]
            claude.script(AnthropicReply.text("Gold."))
            body = {"session_id": sid, "message": "Colour?", "attachments": [attachment]}
            started = request(server.base, "POST", "/api/chat/start", body)
            assert read_events(server.base, started.json["stream_id"])[-1][0] == "stream_end"
        finally:
            server.stop()
        blocks = claude.requests[-1]["messages"][-1]["content"]
    assert blocks[0] == {"type": "text", "text": "Colour?"}
    assert blocks[1]["text"].startswith("[Image attached: gold.png")
    assert blocks[2]["type"] == "image"
    assert blocks[2]["source"]["media_type"] == "image/png"
    assert base64.b64decode(blocks[2]["source"]["data"]) == image


def test_a_model_list_that_says_what_models_take_decides_who_sees_images():
    from hermes_agent.providers.openai_compat import OpenAICompatProvider

    with FakeOpenAI() as listing:
        listing.input_modalities = {"seer": ["text", "image"], "reader": ["text"]}
        provider = OpenAICompatProvider(listing.base_url, "key", max_retries=0)
        assert provider.sees_images("seer") is True
        assert provider.sees_images("reader") is False
        assert provider.sees_images("unlisted") is None, "then the vision_models setting decides"
