"""A server killed right after accepting messages: on restart, state.db holds each once.

The browser's session files keep every accepted message (saved before the reply), but the
agent records a turn in state.db only once its worker has started; a SIGKILL in between left
state.db without those messages, so the terminal and chat apps never saw them. Recovery at
start records every such message, once, and links it, so later turns and restarts add
nothing twice.
"""

from __future__ import annotations

from collections import Counter

from hermes_state import SessionDB
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.support import ServerProcess, fake_provider_env, read_events, request

ROUNDS = 3
SESSIONS = 3


def _stored_user_messages(server: ServerProcess) -> Counter:
    with SessionDB(server.root / "hermes-home" / "state.db") as db:
        rows = [m for row in db.list_sessions_rich(limit=100) for m in db.get_messages(row["id"])]
    return Counter(m["content"] for m in rows if m["role"] == "user")


def test_messages_accepted_just_before_a_kill_reach_state_db_once(tmp_path):
    slow = Reply.text("a slow answer " * 20, delay=0.2)
    with FakeOpenAI(default=slow) as fake:
        server = ServerProcess(tmp_path, extra_env=fake_provider_env(fake))
        server.start()
        sids = [
            request(server.base, "POST", "/api/session/new", {}).json["session"]["session_id"]
            for _ in range(SESSIONS)
        ]
        accepted = []
        for round_ in range(ROUNDS):
            for sid in sids:
                text = f"round {round_} in {sid}"
                body = {"session_id": sid, "message": text}
                started = request(server.base, "POST", "/api/chat/start", body)
                assert started.status == 200, started.body
                accepted.append(text)
            server.kill()
            server.start()

        fake.default = Reply.text("Back again.")
        for sid in sids:
            text = f"after the kills in {sid}"
            started = request(
                server.base, "POST", "/api/chat/start", {"session_id": sid, "message": text}
            )
            assert read_events(server.base, started.json["stream_id"])[-1][0] == "stream_end"
            accepted.append(text)
        server.stop()
        server.start()
        server.stop()

    stored = _stored_user_messages(server)
    assert {text: stored[text] for text in accepted} == dict.fromkeys(accepted, 1)
