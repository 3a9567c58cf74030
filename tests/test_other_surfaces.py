"""Conversations from the terminal or a chat app, seen and continued in the web UI.

A real server reads the same state.db that another surface wrote (here written directly with
SessionDB, as the terminal gateway does); the sidebar lists the conversation, search finds its
messages, opening it shows its transcript, and `import_cli` lets the browser continue it.
"""

from __future__ import annotations

import pytest

from hermes_state import SessionDB
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.support import ServerProcess, fake_provider_env, read_events, request

TUI_ID = "20261121_101500_abc123"


@pytest.fixture(scope="module")
def fake():
    with FakeOpenAI() as server:
        yield server


@pytest.fixture(scope="module")
def server(fake, tmp_path_factory):
    process = ServerProcess(tmp_path_factory.mktemp("surfaces"), extra_env=fake_provider_env(fake))
    db = SessionDB(process.root / "hermes-home" / "state.db")
    db.create_session(TUI_ID, "tui", model="fake-model")
    db.set_session_title(TUI_ID, "Harbour timetable")
    db.append_message(TUI_ID, "user", "When does the ferry to the lighthouse leave?")
    db.append_message(TUI_ID, "assistant", "The ferry leaves at nine, from pier four.")
    db.create_session("20261121_090000_cron01", "cron")
    db.append_message("20261121_090000_cron01", "user", "nightly lighthouse report")
    db.close()
    process.start()
    yield process
    process.stop()


def test_the_sidebar_lists_a_terminal_conversation(server):
    reply = request(server.base, "GET", "/api/sessions")

    rows = {row["session_id"]: row for row in reply.json["sessions"]}
    assert rows[TUI_ID]["title"] == "Harbour timetable"
    assert rows[TUI_ID]["source"] == "tui"
    assert rows[TUI_ID]["message_count"] == 2
    assert rows["20261121_090000_cron01"]["source"] == "cron", "listed under Scheduled"
    assert reply.json["cli_count"] == 2


def test_filters_for_archived_or_a_project_leave_other_surfaces_out(server):
    only_archived = request(server.base, "GET", "/api/sessions?archived=only").json
    assert TUI_ID not in {row["session_id"] for row in only_archived["sessions"]}


def test_search_finds_a_word_inside_a_terminal_message(server):
    reply = request(server.base, "GET", "/api/sessions/search?q=pier")

    hit = next(row for row in reply.json["sessions"] if row["session_id"] == TUI_ID)
    assert hit["match_type"] == "content"
    assert "pier" in hit["snippet"]
    titles = request(server.base, "GET", "/api/sessions/search?q=harbour").json["sessions"]
    assert [row["match_type"] for row in titles if row["session_id"] == TUI_ID] == ["title"]


def test_opening_it_shows_the_transcript_read_only(server):
    reply = request(server.base, "GET", f"/api/session?session_id={TUI_ID}")

    session = reply.json["session"]
    assert session["read_only"] is True
    assert [m["role"] for m in session["messages"]] == ["user", "assistant"]
    assert session["messages"][1]["content"] == "The ferry leaves at nine, from pier four."


def test_unknown_and_malformed_ids_are_refused(server):
    assert request(server.base, "GET", "/api/session?session_id=nope_404").status == 404
    missing = request(server.base, "POST", "/api/session/import_cli", {"session_id": "nope_404"})
    assert missing.status == 404
    assert "error" in missing.json
    bad = request(server.base, "POST", "/api/session/import_cli", {"session_id": "../etc"})
    assert bad.status == 400


def test_continuing_it_in_the_browser_appends_to_the_same_conversation(server, fake):
    first = request(server.base, "POST", "/api/session/import_cli", {"session_id": TUI_ID})
    again = request(server.base, "POST", "/api/session/import_cli", {"session_id": TUI_ID})

    assert first.status == 200 and first.json["imported"] is True
    assert again.json["imported"] is False
    assert len(first.json["session"]["messages"]) == 2
    listed = request(server.base, "GET", "/api/sessions").json["sessions"]
    assert [row["session_id"] for row in listed].count(TUI_ID) == 1

    fake.script(Reply.text("On Sundays it leaves at ten."))
    start = request(
        server.base, "POST", "/api/chat/start", {"session_id": TUI_ID, "message": "And Sunday?"}
    )
    assert start.status == 200, start.json
    assert read_events(server.base, start.json["stream_id"])[-1][0] == "stream_end"

    db = SessionDB(server.root / "hermes-home" / "state.db")
    try:
        contents = [m["content"] for m in db.get_messages(TUI_ID)]
    finally:
        db.close()
    assert contents[-2:] == ["And Sunday?", "On Sundays it leaves at ten."]
    assert len(contents) == 4
    sent = fake.requests[-1]["messages"]
    assert any("pier four" in str(m.get("content")) for m in sent), "the model saw the history"


def test_web_titles_reach_state_db_so_other_surfaces_resume_by_title(server, fake):
    sid = request(server.base, "POST", "/api/session/new", {}).json["session"]["session_id"]
    fake.script(Reply.text("Noted."))
    start = request(
        server.base, "POST", "/api/chat/start", {"session_id": sid, "message": "Garden plans"}
    )
    assert read_events(server.base, start.json["stream_id"])[-1][0] == "stream_end"
    renamed = request(
        server.base, "POST", "/api/session/rename", {"session_id": sid, "title": "Allotment"}
    )
    assert renamed.status == 200

    db = SessionDB(server.root / "hermes-home" / "state.db")
    try:
        assert db.get_session(sid)["title"] == "Allotment"
        assert db.resolve_session_by_title("Allotment") == sid
    finally:
        db.close()


def test_undo_in_the_browser_is_followed_by_state_db_and_never_caught_up_again(server, fake):
    sid = request(server.base, "POST", "/api/session/new", {}).json["session"]["session_id"]
    for question, answer in (("First question", "First answer."), ("Second", "Second answer.")):
        fake.script(Reply.text(answer))
        started = request(
            server.base, "POST", "/api/chat/start", {"session_id": sid, "message": question}
        )
        assert read_events(server.base, started.json["stream_id"])[-1][0] == "stream_end"

    assert request(server.base, "POST", "/api/session/undo", {"session_id": sid}).status == 200

    db = SessionDB(server.root / "hermes-home" / "state.db")
    try:
        stored = [m["content"] for m in db.get_messages(sid)]
    finally:
        db.close()
    assert stored == ["First question", "First answer."]
    shown = request(server.base, "GET", f"/api/session?session_id={sid}").json["session"]
    assert [m["content"] for m in shown["messages"]] == ["First question", "First answer."]


def test_a_conversation_another_process_starts_later_is_listed_at_once(server):
    before = request(server.base, "GET", "/api/sessions").json["cli_count"]
    db = SessionDB(server.root / "hermes-home" / "state.db")
    try:
        db.create_session("20261121_120000_late01", "telegram")
        db.append_message("20261121_120000_late01", "user", "Is the museum open on Monday?")
    finally:
        db.close()

    after = request(server.base, "GET", "/api/sessions").json
    assert after["cli_count"] == before + 1
    assert "20261121_120000_late01" in {row["session_id"] for row in after["sessions"]}
