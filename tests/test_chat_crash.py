"""A server killed with SIGKILL in the middle of a streamed answer loses nothing on restart.

A real `hermes web` process talks to the fake OpenAI server and streams a long scripted answer;
the server is killed at a random moment (before any token, after a checkpoint, near the end)
and started again on the same state directory. Startup recovery must fold the interrupted turn
into the transcript: the user's message, the checkpointed partial answer, an "interrupted"
marker, with the pending fields cleared, once.

The kill points come from a seeded `random.Random`; set CHAT_CRASH_SEED to replay a run.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.fakes.openai_server import FakeOpenAI, Reply, split_tokens
from tests.support import ServerProcess, request

SEED = int(os.environ.get("CHAT_CRASH_SEED") or random.SystemRandom().randrange(1 << 30))

TOKEN_DELAY = 0.012
PROMPT = "Explain the plan, step by step."


def _scripted_answer() -> str:
    """About 300 distinct words in sentences, so a prefix pins down where the text stopped."""
    words = random.Random(1234).choices(
        ["alpha", "bravo", "delta", "echo", "kilo", "lima", "oscar", "sierra", "tango"], k=300
    )
    sentences = [
        " ".join(f"{word}{n:03d}" for n, word in enumerate(words[i : i + 12], start=i)) + "."
        for i in range(0, len(words), 12)
    ]
    return " ".join(sentences)


ANSWER = _scripted_answer()
ANSWER_TOKENS = len(split_tokens(ANSWER))

# What the server needs for one checkpoint: CHECKPOINT_TEXT_SECONDS (2 s) plus one poll
# (0.25 s) after its checkpoint thread starts, which is before the first token; and a margin.
CHECKPOINT_DUE_SECONDS = 2.8
ROUND_SECONDS = 20

PLAN_COUNTS = {"before_tokens": 3, "early": 5, "checkpointed": 10, "near_end": 2, "at_end": 2}


@dataclass
class Kill:
    """When one round kills the server, and what the session file held just before and after.

    `at_end` kills the moment state.db holds the finished answer: the agent has recorded it,
    and the web session's final save may or may not have happened yet.
    """

    kind: str
    tokens: int = 0
    seconds: float = 0.0
    seen_text: str = ""
    streamed_for: float = 0.0
    before_kill: dict = field(default_factory=dict)
    after_kill: dict = field(default_factory=dict)

    def describe(self) -> str:
        return (
            f"seed={SEED} kill={self.kind} target_tokens={self.tokens} "
            f"target_seconds={self.seconds:.2f} seen_tokens={len(split_tokens(self.seen_text))} "
            f"streamed_for={self.streamed_for:.2f}s "
            f"checkpointed={len(self.before_kill.get('pending_partial_text') or '')} chars"
        )


def _kill_plan(rng: random.Random) -> list[Kill]:
    stream_seconds = ANSWER_TOKENS * TOKEN_DELAY
    plan = [Kill("before_tokens") for _ in range(PLAN_COUNTS["before_tokens"])]
    plan += [Kill("early", tokens=rng.randint(1, 80)) for _ in range(PLAN_COUNTS["early"])]
    plan += [
        Kill("checkpointed", seconds=rng.uniform(CHECKPOINT_DUE_SECONDS, stream_seconds - 0.4))
        for _ in range(PLAN_COUNTS["checkpointed"])
    ]
    plan += [
        Kill("near_end", tokens=ANSWER_TOKENS - rng.randint(3, 10))
        for _ in range(PLAN_COUNTS["near_end"])
    ]
    plan += [Kill("at_end", tokens=ANSWER_TOKENS) for _ in range(PLAN_COUNTS["at_end"])]
    rng.shuffle(plan)
    return plan


@pytest.fixture(scope="module")
def fake():
    with FakeOpenAI(default=Reply.text(ANSWER, delay=TOKEN_DELAY)) as fake:
        yield fake


def _server(root: Path, fake: FakeOpenAI) -> ServerProcess:
    return ServerProcess(
        root,
        extra_env={
            "HERMES_PROVIDER": "openai",
            "HERMES_BASE_URL": fake.base_url,
            "HERMES_API_KEY": "k",
            "HERMES_MODEL": "fake-model",
            "HERMES_MAX_RETRIES": "0",
            "HERMES_LLM_TITLES": "0",
        },
    )


def _session_file(server: ServerProcess, sid: str) -> Path:
    return server.state_dir / "sessions" / f"{sid}.json"


def _read_file(server: ServerProcess, sid: str) -> dict:
    return json.loads(_session_file(server, sid).read_bytes())


def _start_turn(server: ServerProcess, message: str = PROMPT) -> tuple[str, str]:
    reply = request(server.base, "POST", "/api/session/new", {})
    assert reply.status == 200, reply.body
    sid = reply.json["session"]["session_id"]
    reply = request(server.base, "POST", "/api/chat/start", {"session_id": sid, "message": message})
    assert reply.status == 200, f"seed={SEED}: {reply.status} {reply.body!r}"
    return sid, reply.json["stream_id"]


def _wait_until_answer_recorded(server: ServerProcess, sid: str, kill: Kill) -> None:
    db = sqlite3.connect(f"file:{server.root / 'hermes-home' / 'state.db'}?mode=ro", uri=True)
    try:
        deadline = time.monotonic() + ROUND_SECONDS
        while time.monotonic() < deadline:
            with contextlib.suppress(sqlite3.OperationalError):
                row = db.execute(
                    "SELECT 1 FROM messages WHERE session_id = ? AND role = 'assistant'", (sid,)
                ).fetchone()
                if row:
                    return
            time.sleep(0.0005)
    finally:
        db.close()
    raise AssertionError(f"{kill.describe()}: the answer never reached state.db")


def _follow_then_kill(server: ServerProcess, sid: str, stream_id: str, kill: Kill) -> None:
    """Read the run's SSE until the kill point, then read the session file and SIGKILL."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=ROUND_SECONDS)
    try:
        if kill.kind != "before_tokens":
            _read_until_kill_point(conn, stream_id, kill)
            if kill.kind == "at_end":
                _wait_until_answer_recorded(server, sid, kill)
        kill.before_kill = _read_file(server, sid)
        server.kill()
    finally:
        conn.close()
    assert server.proc.returncode < 0, kill.describe()
    kill.after_kill = _read_file(server, sid)


def _read_until_kill_point(conn: http.client.HTTPConnection, stream_id: str, kill: Kill) -> None:
    conn.request("GET", f"/api/chat/stream?stream_id={stream_id}")
    response = conn.getresponse()
    assert response.status == 200, kill.describe()
    deadline = time.monotonic() + ROUND_SECONDS
    first_token_at = None
    event = None
    while True:
        assert time.monotonic() < deadline, f"{kill.describe()}: stream too slow"
        line = response.readline()
        assert line, f"{kill.describe()}: stream ended before the kill point"
        if line.startswith(b"event: "):
            event = line[7:].strip().decode()
            assert event not in ("done", "apperror", "stream_end"), (
                f"{kill.describe()}: run ended before the kill point ({event})"
            )
        elif line.startswith(b"data: ") and event == "token":
            kill.seen_text += json.loads(line[6:])["text"]
            now = time.monotonic()
            first_token_at = first_token_at or now
            kill.streamed_for = now - first_token_at
            if kill.kind == "checkpointed":
                if kill.streamed_for >= kill.seconds:
                    return
            elif len(split_tokens(kill.seen_text)) >= kill.tokens:
                return


def _listed(server: ServerProcess) -> list[dict]:
    reply = request(server.base, "GET", "/api/sessions")
    assert reply.status == 200, reply.body
    return reply.json["sessions"]


def _get_session(server: ServerProcess, sid: str) -> dict:
    reply = request(server.base, "GET", f"/api/session?session_id={sid}")
    assert reply.status == 200, f"seed={SEED} {sid}: {reply.status} {reply.body!r}"
    return reply.json["session"]


def _brief(messages: list[dict]) -> list[str]:
    """Messages as role, flags, length and the ends of the text, for assertion messages."""
    out = []
    for m in messages:
        text = m.get("content") or ""
        flags = "".join(k for k in ("_recovered", "_partial", "_error") if m.get(k))
        out.append(f"{m['role']}{flags} {len(text)} chars {text[:24]!r}...{text[-24:]!r}")
    return out


def _check_completed(server: ServerProcess, sid: str, kill: Kill) -> None:
    """The run's final save beat the kill: the turn is there, whole, and nothing is pending."""
    ctx = kill.describe()
    stored = _read_file(server, sid)
    session = _get_session(server, sid)
    assert stored == kill.after_kill, f"{ctx}: a finished session was changed by the restart"
    assert [(m["role"], m["content"]) for m in session["messages"]] == [
        ("user", PROMPT),
        ("assistant", ANSWER),
    ], f"{ctx}: {_brief(session['messages'])}"
    assert session["active_stream_id"] is None, ctx
    assert session["pending_user_message"] is None, ctx
    assert [row["session_id"] for row in _listed(server)].count(sid) == 1, ctx


def _check_recovered(server: ServerProcess, sid: str, kill: Kill, message: str = PROMPT) -> None:
    ctx = kill.describe()
    if kill.kind == "at_end" and not kill.after_kill.get("active_stream_id"):
        _check_completed(server, sid, kill)
        return
    before = kill.before_kill
    assert before.get("active_stream_id"), f"{ctx}: the run had ended before the kill"
    assert kill.after_kill.get("active_stream_id"), f"{ctx}: the run ended as it was killed"
    assert before.get("pending_user_message") == message, f"{ctx}: no write-ahead: {before}"
    checkpointed = before.get("pending_partial_text") or ""
    assert ANSWER.startswith(checkpointed), f"{ctx}: checkpoint is not a prefix: {checkpointed!r}"
    if kill.kind in ("checkpointed", "near_end"):
        assert checkpointed, f"{ctx}: {kill.streamed_for:.2f}s of streaming and no checkpoint"

    stored = _read_file(server, sid)  # the file parses
    session = _get_session(server, sid)
    messages = session["messages"]
    assert stored["messages"] == messages, ctx
    for where in (stored, session):
        assert where.get("active_stream_id") is None, f"{ctx}: {where.get('active_stream_id')}"
        assert where.get("pending_user_message") is None, ctx
        assert where.get("pending_started_at") is None, ctx
    assert stored.get("pending_partial_text") is None, ctx
    assert session["has_pending_message"] is False, ctx
    assert session["is_streaming"] is False, ctx

    ctx = f"{ctx}\n  messages: {_brief(messages)}"
    assert len(messages) >= 2, ctx
    first, *middle, last = messages
    assert first["role"] == "user", ctx
    assert first["content"] == message, ctx
    assert first.get("_recovered") is True, ctx
    assert last["role"] == "assistant", ctx
    assert last.get("_error") is True, ctx
    assert "interrupted" in last["content"].lower(), ctx

    assert len(middle) <= 1, f"{ctx}\n  the answer is shown more than once"
    if checkpointed:
        assert middle, f"{ctx}: the checkpointed text {len(checkpointed)} chars is gone"
    for m in middle:
        assert m["role"] == "assistant", ctx
        if m.get("_partial"):
            text = m["content"]
            assert ANSWER.startswith(text), f"{ctx}: partial is not a prefix: {text!r}"
            assert len(text) >= len(checkpointed), (
                f"{ctx}: partial {len(text)} chars < checkpointed {len(checkpointed)}"
            )
        else:  # the agent recorded its finished answer before the kill
            assert m["content"] == ANSWER, ctx

    rows = [row for row in _listed(server) if row["session_id"] == sid]
    assert len(rows) == 1, f"{ctx}: listed {len(rows)} times"
    assert rows[0]["active_stream_id"] is None, f"{ctx}: {rows[0]}"
    assert rows[0]["message_count"] == len(messages), f"{ctx}: {rows[0]}"


def _check_unchanged(server: ServerProcess, recovered: dict[str, tuple[Kill, dict]]) -> None:
    """A later restart leaves every session recovered earlier exactly as it was."""
    listed = [row["session_id"] for row in _listed(server)]
    for sid, (kill, stored) in recovered.items():
        ctx = f"{kill.describe()} (after another restart)"
        assert listed.count(sid) == 1, f"{ctx}: listed {listed.count(sid)} times"
        assert _read_file(server, sid) == stored, ctx
        assert _get_session(server, sid)["messages"] == stored["messages"], ctx


@pytest.mark.slow
def test_sigkill_mid_stream_keeps_message_partial_answer_and_marker_once(tmp_path, fake):
    rng = random.Random(SEED)
    plan = _kill_plan(rng)
    assert len(plan) >= 20
    recovered: dict[str, tuple[Kill, dict]] = {}
    server = _server(tmp_path, fake).start()
    try:
        for kill in plan:
            sid, stream_id = _start_turn(server)
            _follow_then_kill(server, sid, stream_id, kill)

            server = _server(tmp_path, fake).start()
            _check_recovered(server, sid, kill)
            _check_unchanged(server, recovered)
            recovered[sid] = (kill, _read_file(server, sid))

        server.kill()
        server = _server(tmp_path, fake).start()
        _check_unchanged(server, recovered)
        assert len(_listed(server)) == len(plan), f"seed={SEED}"
    finally:
        server.stop()


def test_sigkill_before_the_worker_saves_anything_keeps_the_users_message(tmp_path, fake):
    fake.script(Reply.hang(30))  # the provider never answers: no token, no checkpoint
    message = "Do not lose this message, even if the server dies right now."
    server = _server(tmp_path, fake).start()
    try:
        sid, stream_id = _start_turn(server, message)
        deadline = time.monotonic() + 10
        while fake.pending and time.monotonic() < deadline:  # the worker is asking the model
            time.sleep(0.01)
        assert fake.pending == 0, "the run never called the provider"
        kill = Kill("before_tokens")
        _follow_then_kill(server, sid, stream_id, kill)
        assert kill.before_kill["messages"] == [], kill.before_kill
        assert kill.before_kill["pending_partial_text"] is None, kill.before_kill

        server = _server(tmp_path, fake).start()
        _check_recovered(server, sid, kill, message)
        messages = _get_session(server, sid)["messages"]
        assert [m["role"] for m in messages] == ["user", "assistant"], messages

        stored = _read_file(server, sid)
        server.kill()
        server = _server(tmp_path, fake).start()
        _check_unchanged(server, {sid: (kill, stored)})
    finally:
        server.stop()
