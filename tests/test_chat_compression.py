"""Compression end to end over HTTP: the web session follows the agent into a new session,
and web turns are recorded in state.db with source "web"."""

from __future__ import annotations

import orjson
import pytest

from hermes_state import SessionDB
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.support import ServerProcess, fake_provider_env, read_events, request
from tests.test_attachments_api import blobs, upload


@pytest.fixture(scope="module")
def fake():
    with FakeOpenAI() as server:
        yield server


@pytest.fixture(scope="module")
def server(fake, tmp_path_factory):
    process = ServerProcess(
        tmp_path_factory.mktemp("compression"),
        extra_env=fake_provider_env(
            fake,
            HERMES_CONTEXT_LENGTH="6144",
            HERMES_COMPRESSION_THRESHOLD="0.5",
            HERMES_ENABLED_TOOLS="todo",  # the budget is the history's, whatever tools ship
        ),
    )
    process.start()
    yield process
    process.stop()


def _turn(server, sid, message):
    started = request(
        server.base, "POST", "/api/chat/start", {"session_id": sid, "message": message}
    )
    assert started.status == 200, started.json
    return read_events(server.base, started.json["stream_id"])


def test_compression_moves_the_web_session_to_the_continued_one(server, fake):
    history = []
    for i in range(6):
        padding = 1500 if i < 4 else 10  # long early turns, short recent ones
        history += [
            {"role": "user", "content": f"question {i} " + "x" * padding},
            {"role": "assistant", "content": f"answer {i} " + "y" * padding},
        ]
    old_id = request(
        server.base, "POST", "/api/session/import", {"title": "Long talk", "messages": history}
    ).json["session"]["session_id"]
    fake.script(Reply.text("Summary of six questions."), Reply.text("Here is the answer."))

    events = _turn(server, old_id, "and the last one?")

    names = [name for name, _ in events]
    assert "compressed" in names and names[-1] == "stream_end"
    new_id = dict(events)["done"]["session"]["session_id"]
    assert new_id != old_id
    sessions_dir = server.state_dir / "sessions"
    assert not (sessions_dir / f"{old_id}.json").exists()
    assert (sessions_dir / f"{new_id}.json").exists()
    listed = [
        row["session_id"] for row in request(server.base, "GET", "/api/sessions").json["sessions"]
    ]
    assert new_id in listed and old_id not in listed
    assert request(server.base, "GET", f"/api/session?session_id={old_id}").status == 404
    session = request(server.base, "GET", f"/api/session?session_id={new_id}").json["session"]
    contents = [m["content"] for m in session["messages"]]
    assert contents[:2] == [history[0]["content"], history[1]["content"]], (
        "the display keeps every turn"
    )
    assert contents[-2:] == ["and the last one?", "Here is the answer."]
    assert any("Summary of six questions." in str(c) for c in contents)

    fake.script(Reply.text("A later answer."))
    later = _turn(server, new_id, "one more")
    assert later[-1][0] == "stream_end", "the renamed session keeps working (lock and agent follow)"

    db = SessionDB(db_path=server.root / "hermes-home" / "state.db")
    assert db.get_session(old_id)["end_reason"] == "compression"
    child = db.get_session(new_id)
    assert child["parent_session_id"] == old_id and child["source"] == "web"


def test_the_continued_session_carries_the_files_of_the_one_it_replaces(server, fake):
    sent = upload(server, "route.txt", b"Porto, then Braga.").json
    history = [
        {"role": "user", "content": "my route", "attachments": [sent]},
        {"role": "assistant", "content": "Noted."},
    ]
    for i in range(4):
        history += [
            {"role": "user", "content": f"question {i} " + "x" * 1500},
            {"role": "assistant", "content": f"answer {i} " + "y" * 1500},
        ]
    old_id = request(
        server.base, "POST", "/api/session/import", {"title": "Trip", "messages": history}
    ).json["session"]["session_id"]
    meta = blobs(server) / f"{sent['id']}.json"
    assert orjson.loads(meta.read_bytes())["sessions"] == [old_id]
    fake.script(Reply.text("A route, then questions."), Reply.text("Go by train."))

    new_id = dict(_turn(server, old_id, "how do I travel?"))["done"]["session"]["session_id"]

    assert new_id != old_id
    assert orjson.loads(meta.read_bytes())["sessions"] == [new_id]
    assert request(server.base, "POST", "/api/session/delete", {"session_id": new_id}).status == 200
    assert not meta.exists(), "deleting the conversation reclaims the file only it carried"


def test_web_turns_are_recorded_in_state_db(server, fake):
    sid = request(server.base, "POST", "/api/session/new", {}).json["session"]["session_id"]
    fake.script(Reply.text("Recorded answer.", usage=(9, 3)))
    _turn(server, sid, "please record me")
    db = SessionDB(db_path=server.root / "hermes-home" / "state.db")
    row = db.get_session(sid)
    assert row["source"] == "web"
    assert (row["input_tokens"], row["output_tokens"]) == (9, 3)
    assert [m["content"] for m in db.get_messages(sid)] == ["please record me", "Recorded answer."]
