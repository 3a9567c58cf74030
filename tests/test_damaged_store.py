"""A state.db that is not a database any more does not stop the server or lose a message.

At start it is moved aside as `state.db.damaged-<time>`, untouched, and a new state.db takes
its place; /health says so, the log says where the damaged copy is, and turns are recorded
again. The browser's transcripts, in their own files, are kept throughout.
"""

from __future__ import annotations

from hermes_state import SessionDB
from tests.fakes.openai_server import Reply
from tests.support import ServerProcess, fake_provider_env, read_events, request

GARBAGE = b"this is not a database, it was overwritten " * 200


def _turn(server, sid: str, text: str) -> list:
    started = request(server.base, "POST", "/api/chat/start", {"session_id": sid, "message": text})
    assert started.status == 200, started.body
    return read_events(server.base, started.json["stream_id"])


def test_a_damaged_state_db_is_set_aside_and_a_new_one_records_the_turns(tmp_path, fake):
    server = ServerProcess(tmp_path, extra_env=fake_provider_env(fake))
    home = server.root / "hermes-home"
    home.mkdir(parents=True)
    (home / "state.db").write_bytes(GARBAGE)
    server.start()
    try:
        store = request(server.base, "GET", "/health").json["store"]
        assert store["status"] == "replaced"
        damaged = home / store["damaged_copy"].rsplit("/", 1)[-1]
        assert damaged.name.startswith("state.db.damaged-")
        assert damaged.read_bytes() == GARBAGE, "the damaged copy is kept as it was"
        assert "moved to" in server.log() and damaged.name in server.log()

        sid = request(server.base, "POST", "/api/session/new", {}).json["session"]["session_id"]
        for i in range(3):
            fake.script(Reply.text(f"Answer {i}."))
            assert _turn(server, sid, f"Question {i}")[-1][0] == "stream_end"
        shown = request(server.base, "GET", f"/api/session?session_id={sid}").json["session"]
        assert len(shown["messages"]) == 6
    finally:
        server.stop()

    with SessionDB(home / "state.db") as db:
        assert [m["content"] for m in db.get_messages(sid)][-2:] == ["Question 2", "Answer 2."]
    server.start()
    try:
        assert request(server.base, "GET", "/health").json["store"]["status"] == "ok"
        shown = request(server.base, "GET", f"/api/session?session_id={sid}").json["session"]
        assert len(shown["messages"]) == 6
    finally:
        server.stop()
