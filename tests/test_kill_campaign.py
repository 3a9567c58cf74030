"""A campaign of SIGKILLs at random moments, with streaming, tool calls, undo and import in flight.

Each round starts `hermes web` on the same state, fires a mix of requests at once (new turns
in fresh conversations, some calling a tool; an undo of an earlier turn; an import), kills
the server at a random moment and starts it again. Then, for every request that was answered
200, the promise holds: each message sent is stored exactly once, in the session file and in
state.db; what an answered undo took back is in neither; what an answered import holds is all
there; no file is torn and state.db is sound. Set KILL_CAMPAIGN_SEED to replay a campaign.
"""

from __future__ import annotations

import concurrent.futures
import http.client
import json
import os
import random
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.support import ServerProcess, fake_provider_env, request

SEED = int(os.environ.get("KILL_CAMPAIGN_SEED") or random.SystemRandom().randrange(1 << 30))
ROUNDS = 20
TURNS_PER_ROUND = 3
SLOW = Reply.text(" ".join(f"w{i}" for i in range(120)), delay=0.01)


@dataclass
class Ledger:
    """What the server said it had done, across rounds."""

    sent: dict[str, str] = field(default_factory=dict)  # message text → session id
    undone: dict[str, str] = field(default_factory=dict)  # message text → session id
    maybe_undone: set[str] = field(default_factory=set)  # the kill cut off the undo's answer
    imported: dict[str, list[str]] = field(default_factory=dict)  # session id → texts
    finished: list[str] = field(default_factory=list)  # sessions whose turn is over


def _start_turn(base: str, text: str) -> tuple[str, str] | None:
    created = request(base, "POST", "/api/session/new", {}, timeout=5)
    sid = created.json["session"]["session_id"]
    started = request(
        base, "POST", "/api/chat/start", {"session_id": sid, "message": text}, timeout=5
    )
    return (text, sid) if started.status == 200 else None


def _undo(base: str, sid: str) -> str | None:
    undone = request(base, "POST", "/api/session/undo", {"session_id": sid}, timeout=5)
    return sid if undone.status == 200 else None


def _import(base: str, tag: str) -> tuple[str, list[str]] | None:
    texts = [f"{tag} imported {i}" for i in range(6)]
    messages = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": text}
        for i, text in enumerate(texts)
    ]
    reply = request(
        base, "POST", "/api/session/import", {"title": tag, "messages": messages}, timeout=5
    )
    return (reply.json["session"]["session_id"], texts) if reply.status == 200 else None


def _round(server: ServerProcess, fake: FakeOpenAI, ledger: Ledger, rng: random.Random, n: int):
    fake.script(
        *[
            Reply.tool_calls([("list_dir", {"path": "."})]) if rng.random() < 0.4 else SLOW
            for _ in range(TURNS_PER_ROUND)
        ]
    )
    base = server.base
    undo_target = rng.choice(ledger.finished) if ledger.finished else None
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        turns = [pool.submit(_start_turn, base, f"r{n} turn {k}") for k in range(TURNS_PER_ROUND)]
        undo = pool.submit(_undo, base, undo_target) if undo_target else None
        imported = pool.submit(_import, base, f"r{n} import")
        time.sleep(rng.uniform(0.0, 0.8))
        server.kill()
        for future in turns:
            if (done := _answer(future)) is not None:
                ledger.sent[done[0]] = done[1]
        if undo is not None:
            texts = {t: s for t, s in ledger.sent.items() if s == undo_target}
            if _answer(undo) is not None:
                ledger.undone.update(texts)
            else:  # it may or may not have been done: either is right, but once at most
                ledger.maybe_undone.update(texts)
            ledger.finished.remove(undo_target)
        if (done := _answer(imported)) is not None:
            ledger.imported[done[0]] = done[1]


def _answer(future: concurrent.futures.Future):
    """The request's result, or None when the kill cut it off."""
    try:
        return future.result(timeout=10)
    except (OSError, http.client.HTTPException, ValueError, KeyError, TypeError, AttributeError):
        return None


def _session_files(server: ServerProcess) -> dict[str, dict]:
    folder = server.state_dir / "sessions"
    live = f".tmp.{server.proc.pid}."  # the running server's own writes in progress
    stray = [p.name for p in folder.iterdir() if ".tmp." in p.name and live not in p.name]
    assert stray == [], f"temporary files of a killed server left after restart: {stray}"
    return {
        p.stem: json.loads(p.read_bytes())  # a torn file fails here
        for p in folder.glob("*.json")
        if not p.name.startswith("_")
    }


def _stored_texts(db_path: Path) -> dict[str, list[str]]:
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = conn.execute("SELECT session_id, content FROM messages ORDER BY id").fetchall()
    conn.close()
    texts: dict[str, list[str]] = {}
    for sid, content in rows:
        texts.setdefault(sid, []).append(content or "")
    return texts


def _check(server: ServerProcess, ledger: Ledger) -> None:
    files = _session_files(server)
    shown = {
        sid: [m.get("content") for m in data.get("messages", [])] for sid, data in files.items()
    }
    stored = _stored_texts(server.root / "hermes-home" / "state.db")
    for text, sid in ledger.sent.items():
        in_file, in_db = shown.get(sid, []).count(text), stored.get(sid, []).count(text)
        expected = {0} if text in ledger.undone else {1}
        if text in ledger.maybe_undone:
            expected = {0, 1}
        assert in_file in expected and in_db == in_file, (
            f"seed {SEED}: {text!r} in {sid}: {in_file} in the file, {in_db} in state.db, "
            f"expected {expected}"
        )
    for sid, texts in ledger.imported.items():
        assert [t for t in shown.get(sid, []) if t in texts] == texts, f"seed {SEED}: import {sid}"


def _wait_until_idle(server: ServerProcess, ledger: Ledger) -> None:
    """Let this round's recovered turns settle; they become candidates for a later undo."""
    for sid in set(ledger.sent.values()) - set(ledger.undone.values()):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            status = request(server.base, "GET", f"/api/session/status?session_id={sid}")
            if status.status == 200 and not status.json.get("is_streaming"):
                break
            time.sleep(0.05)
        if sid not in ledger.finished:
            ledger.finished.append(sid)


def test_twenty_sigkills_lose_duplicate_and_tear_nothing_that_was_answered(tmp_path):
    rng = random.Random(SEED)
    with FakeOpenAI(default=SLOW) as fake:
        server = ServerProcess(tmp_path, extra_env=fake_provider_env(fake))
        ledger = Ledger()
        kills = 0
        try:
            for n in range(ROUNDS):
                server.start()
                _check(server, ledger)
                _wait_until_idle(server, ledger)
                _round(server, fake, ledger, rng, n)
                kills += 1
            server.start()
            _check(server, ledger)
        finally:
            server.stop()
    assert kills >= 20
    assert len(ledger.sent) >= ROUNDS, f"seed {SEED}: too few turns were answered to prove much"
