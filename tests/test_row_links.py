"""One conversation kept in two stores, linked by state.db row ids, never by content or counts.

The browser's session file and state.db both hold a web conversation; the terminal and chat
apps continue it in state.db only. Each web message recorded there carries its row id, so the
browser shows exactly the rows said elsewhere after its own, and an undo deletes exactly its
rows. The cases here are the ones that break matching by text or by counting: the same words
sent again, a compression in the middle, and a long conversation passed back and forth.

The web server is a real process with the scripted HTTP provider. The other surface is the
agent core as the terminal gateway runs it: an `AIAgent` on the same state.db file, continuing
the conversation from its stored history, with an in-process scripted provider.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from hermes_agent import AIAgent
from hermes_state import SessionDB
from tests.fakes.openai_server import Reply
from tests.fakes.scripted_provider import ScriptedProvider, Step
from tests.support import read_events, request, web_server


@pytest.fixture(scope="module")
def server(fake, tmp_path_factory):
    root = tmp_path_factory.mktemp("row-links")
    with web_server(root, fake, HERMES_CONTEXT_LENGTH="10000000") as process:
        yield process


def _db(server) -> SessionDB:
    return SessionDB(server.root / "hermes-home" / "state.db")


def _web_turn(server, fake, sid: str, text: str, answer: str) -> dict:
    fake.script(Reply.text(answer))
    started = request(server.base, "POST", "/api/chat/start", {"session_id": sid, "message": text})
    assert started.status == 200, started.json
    events = read_events(server.base, started.json["stream_id"])
    assert events[-1][0] == "stream_end", events
    return dict(events)["done"]["session"]


def _terminal_turn(server, sid: str, text: str, answer: str) -> None:
    """A turn of the terminal on the conversation, as `hermes tui` runs one after a resume."""
    db = _db(server)
    try:
        history = db.get_messages_as_conversation(sid)
        agent = AIAgent(
            ScriptedProvider(Step.text(answer)),
            model="fake-model",
            session_id=sid,
            session_db=db,
            platform="tui",
            context_length=10_000_000,
        )
        result = agent.run_conversation(text, conversation_history=history)
        assert result.completed, result.failure
    finally:
        db.close()


def _shown(server, sid: str) -> list[tuple[str, str]]:
    session = request(server.base, "GET", f"/api/session?session_id={sid}").json["session"]
    return [(m["role"], m["content"]) for m in session["messages"]]


def _stored(server, sid: str) -> list[tuple[str, str]]:
    db = _db(server)
    try:
        return [(m["role"], m["content"]) for m in db.get_messages(sid)]
    finally:
        db.close()


def _new_session(server) -> str:
    return request(server.base, "POST", "/api/session/new", {}).json["session"]["session_id"]


def test_the_same_words_twice_from_two_surfaces_are_neither_merged_nor_doubled(server, fake):
    sid = _new_session(server)
    _web_turn(server, fake, sid, "yes", "First web answer.")
    _web_turn(server, fake, sid, "yes", "Second web answer.")
    _terminal_turn(server, sid, "yes", "Terminal answer.")

    expected = [
        ("user", "yes"),
        ("assistant", "First web answer."),
        ("user", "yes"),
        ("assistant", "Second web answer."),
        ("user", "yes"),
        ("assistant", "Terminal answer."),
    ]
    assert _shown(server, sid) == expected
    assert _shown(server, sid) == expected, "reading twice shows the same, once"

    done = _web_turn(server, fake, sid, "yes", "Third web answer.")
    expected += [("user", "yes"), ("assistant", "Third web answer.")]
    assert [(m["role"], m["content"]) for m in done["messages"]] == expected
    assert _shown(server, sid) == expected
    assert _stored(server, sid) == expected
    sent = fake.requests[-1]["messages"]
    assert [m["content"] for m in sent if m["role"] == "assistant"] == [
        "First web answer.",
        "Second web answer.",
        "Terminal answer.",
    ], "the model saw the terminal's turn once"


def test_an_undo_deletes_its_own_rows_and_the_other_surface_goes_on_after_them(server, fake):
    sid = _new_session(server)
    _web_turn(server, fake, sid, "yes", "Kept.")
    _terminal_turn(server, sid, "yes", "From the terminal.")
    _web_turn(server, fake, sid, "yes", "Undone.")

    undone = request(server.base, "POST", "/api/session/undo", {"session_id": sid})
    assert undone.status == 200 and undone.json["removed_count"] == 2

    kept = [
        ("user", "yes"),
        ("assistant", "Kept."),
        ("user", "yes"),
        ("assistant", "From the terminal."),
    ]
    assert _stored(server, sid) == kept
    assert _shown(server, sid) == kept, "the undone turn is not caught up again"

    _terminal_turn(server, sid, "yes", "Terminal again.")
    assert _shown(server, sid) == [*kept, ("user", "yes"), ("assistant", "Terminal again.")]

    undone = request(server.base, "POST", "/api/session/undo", {"session_id": sid})
    assert undone.status == 200, "an undo in the browser takes back the terminal's turn too"
    assert _stored(server, sid) == kept
    assert _shown(server, sid) == kept


def _snapshot(*roots: Path) -> dict[str, tuple[int, str]]:
    files = {}
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                data = path.read_bytes()
                files[str(path)] = (os.stat(path).st_mtime_ns, hashlib.sha256(data).hexdigest())
    return files


def _settled_snapshot(*roots: Path) -> dict[str, tuple[int, str]]:
    """A snapshot once the writes a turn leaves behind (the sidebar index is flushed a
    moment later) are done: the same twice over a flush interval, no temp file in it."""
    deadline = time.monotonic() + 10
    last = _snapshot(*roots)
    while time.monotonic() < deadline:
        time.sleep(0.4)
        now = _snapshot(*roots)
        if now == last and not any(".tmp." in path for path in now):
            return now
        last = now
    raise AssertionError("the files never settled")


def test_reading_writes_nothing_even_with_turns_to_catch_up(server, fake):
    sid = _new_session(server)
    _web_turn(server, fake, sid, "Start here", "Started.")
    _terminal_turn(server, sid, "Continue there", "Continued.")

    db = _db(server)
    version = db.data_version()
    before = _settled_snapshot(server.state_dir, server.root / "hermes-home")
    reads = [
        f"/api/session?session_id={sid}",
        f"/api/session?session_id={sid}&msg_limit=1",
        "/api/sessions",
        "/api/sessions/search?q=continue",
        f"/api/session/status?session_id={sid}",
        f"/api/session/usage?session_id={sid}",
        f"/api/session/export?session_id={sid}",
    ]
    for path in reads:
        assert request(server.base, "GET", path).status == 200, path
    shown = _shown(server, sid)

    assert _snapshot(server.state_dir, server.root / "hermes-home") == before
    assert db.data_version() == version
    db.close()
    assert shown[-2:] == [("user", "Continue there"), ("assistant", "Continued.")]

    _web_turn(server, fake, sid, "Back in the browser", "Welcome back.")
    stored = server.state_dir / "sessions" / f"{sid}.json"
    assert "Continue there" in stored.read_text(), "the next write keeps what was caught up"


def test_a_1500_message_conversation_passed_back_and_forth_stays_whole(server, fake):
    sid = "20261202_120000_long01"
    db = _db(server)
    try:
        db.create_session(sid, "tui", model="fake-model")
        for i in range(750):
            db.append_message(sid, "user", f"question {i}")
            db.append_message(sid, "assistant", f"answer {i}")
    finally:
        db.close()
    imported = request(server.base, "POST", "/api/session/import_cli", {"session_id": sid})
    assert imported.status == 200 and len(imported.json["session"]["messages"]) == 1500

    for round_ in range(4):
        _web_turn(server, fake, sid, "yes", f"web {round_}")
        _terminal_turn(server, sid, "yes", f"terminal {round_}")

    shown = _shown(server, sid)
    stored = _stored(server, sid)
    assert len(shown) == 1500 + 16
    assert shown == stored
    tail = [content for _, content in shown[1500:]]
    assert tail == [text for r in range(4) for text in ("yes", f"web {r}", "yes", f"terminal {r}")]
    done = _web_turn(server, fake, sid, "last", "Last answer.")
    assert len(done["messages"]) == 1500 + 18
    assert len(fake.requests[-1]["messages"]) == 1 + 1500 + 17, "system, history, the new turn"


def test_a_compression_in_the_middle_is_continued_without_duplicates(tmp_path, fake):
    history = []
    for i in range(6):
        padding = 1500 if i < 4 else 10
        history += [
            {"role": "user", "content": f"question {i} " + "x" * padding},
            {"role": "assistant", "content": f"answer {i} " + "y" * padding},
        ]
    settings = {
        "HERMES_CONTEXT_LENGTH": "6144",
        "HERMES_COMPRESSION_THRESHOLD": "0.5",
        "HERMES_ENABLED_TOOLS": "todo",  # the budget is the history's, whatever tools ship
    }
    with web_server(tmp_path, fake, **settings) as process:
        old_id = request(
            process.base, "POST", "/api/session/import", {"title": "Long", "messages": history}
        ).json["session"]["session_id"]
        fake.script(Reply.text("Summary of six questions."))
        done = _web_turn(process, fake, old_id, "yes", "After the summary.")
        sid = done["session_id"]
        assert sid != old_id, "the conversation continued in a new state.db session"

        _terminal_turn(process, sid, "yes", "Terminal after the summary.")
        shown = _shown(process, sid)
        assert shown[-4:] == [
            ("user", "yes"),
            ("assistant", "After the summary."),
            ("user", "yes"),
            ("assistant", "Terminal after the summary."),
        ]
        contents = [content for _, content in shown]
        assert len(contents) == len(set(contents)) + 1, "only the two 'yes' repeat"

        done = _web_turn(process, fake, sid, "and now?", "Still whole.")
        assert [m["content"] for m in done["messages"]] == [*contents, "and now?", "Still whole."]


def test_row_ids_in_an_imported_transcript_are_not_trusted(server, fake):
    victim = _new_session(server)
    _web_turn(server, fake, victim, "Keep my words", "Kept.")
    db = _db(server)
    try:
        rows = [m["id"] for m in db.get_messages(victim)]
    finally:
        db.close()
    forged = [
        {"role": "user", "content": "hello", "_row_id": rows[0]},
        {"role": "assistant", "content": "hi", "_row_id": rows[1]},
    ]
    imported = request(server.base, "POST", "/api/session/import", {"messages": forged})
    assert imported.status == 200, imported.json
    assert all("_row_id" not in m for m in imported.json["session"]["messages"])

    sid = imported.json["session"]["session_id"]
    assert request(server.base, "POST", "/api/session/undo", {"session_id": sid}).status == 200
    assert request(server.base, "POST", "/api/session/clear", {"session_id": sid}).status == 200

    assert _stored(server, victim) == [("user", "Keep my words"), ("assistant", "Kept.")]
