"""Crash safety: writers killed with SIGKILL lose nothing they reported as saved, and a damaged,
stale or missing index is repaired at startup.

Writers are real processes killed at random moments; servers are real `hermes web` processes
on their own state directories.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from api import models, session_index
from tests.support import REPO_ROOT, ServerProcess, request

WRITER_ROUNDS = 8
WRITER_START_SECONDS = 15
CRASH_SECONDS_LIMIT = 40

# Saves sessions in a tight loop: new ones, and new versions of earlier ones (so a kill can
# land while an existing file is replaced). A line is printed only after save() returned.
WRITER = """
import random, sys
from api import models

prefix, seed = sys.argv[1], int(sys.argv[2])
rng = random.Random(seed)
versions = {}
for i in range(100_000):
    if versions and rng.random() < 0.4:
        sid = rng.choice(sorted(versions))
    else:
        sid = f"{prefix}_{i}"
    version = versions.get(sid, 0) + 1
    messages = [
        {"role": "user" if k % 2 == 0 else "assistant",
         "content": f"{sid} message {k} " + "x" * rng.randint(0, 3000)}
        for k in range(version)
    ]
    models.Session(session_id=sid, title=f"{sid} v{version}", messages=messages).save()
    versions[sid] = version
    print(sid, version, flush=True)
"""

# A fresh process's view of the store: every session the sidebar lists, with its row.
LISTER = """
import json
from api import models
print(json.dumps({row["session_id"]: row for row in models.all_sessions()}))
"""


def _env(root: Path) -> dict[str, str]:
    """The environment of a process whose every path is under `root` (as a server's would be)."""
    return ServerProcess(root).env()


def _reported(output: bytes) -> dict[str, int]:
    """The last version of each session the writer reported; a torn last line is ignored."""
    saved: dict[str, int] = {}
    for line in output.decode().splitlines(keepends=True):
        parts = line.split()
        if line.endswith("\n") and len(parts) == 2:
            saved[parts[0]] = int(parts[1])
    return saved


def _run_writer_until_killed(root: Path, prefix: str, rng: random.Random) -> tuple[int, bytes]:
    out_path = root / f"writer-{prefix}.out"
    with open(out_path, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, prefix, str(rng.randrange(1 << 30))],
            cwd=REPO_ROOT,
            env=_env(root),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + WRITER_START_SECONDS
        while out_path.stat().st_size == 0 and time.monotonic() < deadline:
            assert proc.poll() is None, out_path.read_text()
            time.sleep(0.01)
        assert out_path.stat().st_size > 0, "the writer saved nothing"
        time.sleep(rng.uniform(0.0, 0.6))
        assert proc.poll() is None, out_path.read_bytes()[-2000:]
        proc.send_signal(signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    return proc.pid, out_path.read_bytes()


def _parse_every_session_file(session_dir: Path) -> dict[str, dict]:
    """Every `*.json` file (the index included) must be JSON; returns the sessions by id."""
    sessions = {}
    for path in sorted(session_dir.glob("*.json")):
        data = json.loads(path.read_bytes())
        if not path.name.startswith("_"):
            sessions[path.stem] = data
    return sessions


def _check_store(session_dir: Path, saved: dict[str, int], monkeypatch) -> dict[str, dict]:
    """Open the store as a restarted process would, and compare it with what was reported."""
    files = _parse_every_session_file(session_dir)
    for sid, version in saved.items():
        assert sid in files, f"{sid} was reported saved but has no file"
        title = files[sid]["title"]
        on_disk = int(title.rsplit("v", 1)[1])
        assert on_disk >= version, f"{sid}: reported v{version}, file holds {title}"
        assert len(files[sid]["messages"]) == on_disk

    session_index.close_current()
    monkeypatch.setattr(models, "SESSION_DIR", session_dir)
    monkeypatch.setattr(models, "SESSION_INDEX_FILE", session_dir / "_index.json")
    models.SESSIONS.clear()
    try:
        rows = {row["session_id"]: row for row in models.all_sessions()}
    finally:
        session_index.close_current()

    assert set(rows) == set(files)
    for sid, data in files.items():
        assert rows[sid]["title"] == data["title"]
        assert rows[sid]["message_count"] == len(data["messages"])
    return rows


def _plant_stale_temp_files(session_dir: Path, dead_pid: int, sid: str) -> list[Path]:
    planted = [
        session_dir / f"{sid}.tmp.{dead_pid}.1",
        session_dir / f"_index.tmp.{dead_pid}.2",
    ]
    for path in planted:
        path.write_bytes(b'{\n  "session_id": "torn')
    return planted


@pytest.mark.slow
def test_sigkilled_writer_loses_no_reported_save_and_leaves_no_temp_files(tmp_path, monkeypatch):
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    session_dir = tmp_path / "state" / "sessions"
    session_dir.mkdir(parents=True)
    saved: dict[str, int] = {}
    started = time.monotonic()

    for round_no in range(WRITER_ROUNDS):
        if time.monotonic() - started > CRASH_SECONDS_LIMIT - 5:
            break
        pid, output = _run_writer_until_killed(tmp_path, f"r{round_no}", rng)
        this_round = _reported(output)
        assert this_round, f"seed {seed}: round {round_no} reported nothing"
        saved.update(this_round)
        planted = _plant_stale_temp_files(session_dir, pid, next(iter(this_round)))

        rows = _check_store(session_dir, saved, monkeypatch)

        assert set(saved) <= set(rows), f"seed {seed}"
        assert [p for p in planted if p.exists()] == []
        assert [p.name for p in session_dir.iterdir() if ".tmp." in p.name] == []

    assert round_no >= 3, "too few rounds ran to mean anything"
    listed = subprocess.run(
        [sys.executable, "-c", LISTER],
        cwd=REPO_ROOT,
        env=_env(tmp_path),
        capture_output=True,
        timeout=30,
        check=True,
    )
    fresh = json.loads(listed.stdout)
    assert set(saved) <= set(fresh)
    assert set(fresh) == set(_parse_every_session_file(session_dir))


# A checkpoint (skip_index) of one session, an indexed save of another more than the index's
# clock margin later, the background writer rewriting the index, then a crash.
CHECKPOINT_THEN_CRASH = """
import json, sys, time
from api import models

def exchange(n):
    return [{"role": "user", "content": f"q{n}"}, {"role": "assistant", "content": f"a{n}"}]

index_file = models.SESSION_INDEX_FILE
session = models.Session(session_id="checkpointed", title="Before checkpoint", messages=exchange(1))
session.save()
session.messages = exchange(1) + exchange(2)
session.title = "After checkpoint"
session.save(skip_index=True)
time.sleep(1.5)
models.Session(session_id="later", title="Later", messages=exchange(3)).save()
deadline = time.monotonic() + 5
while time.monotonic() < deadline:
    if "later" in {row["session_id"] for row in json.loads(index_file.read_bytes())}:
        break
    time.sleep(0.05)
print("index rewritten", flush=True)
time.sleep(30)
"""


def test_a_checkpoint_saved_before_the_last_index_rewrite_is_listed_after_a_crash(tmp_path):
    session_dir = tmp_path / "state" / "sessions"
    session_dir.mkdir(parents=True)
    proc = subprocess.Popen(
        [sys.executable, "-c", CHECKPOINT_THEN_CRASH],
        cwd=REPO_ROOT,
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        line = proc.stdout.readline()
        assert line == b"index rewritten\n", line + proc.stdout.read()
        proc.send_signal(signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        proc.stdout.close()
    on_disk = _parse_every_session_file(session_dir)["checkpointed"]
    assert (on_disk["title"], len(on_disk["messages"])) == ("After checkpoint", 4)

    listed = subprocess.run(
        [sys.executable, "-c", LISTER],
        cwd=REPO_ROOT,
        env=_env(tmp_path),
        capture_output=True,
        timeout=30,
        check=True,
    )
    row = json.loads(listed.stdout)["checkpointed"]
    assert (row["title"], row["message_count"]) == ("After checkpoint", 4)


# ── the real server ──────────────────────────────────────────────────────────────────────
def _transcript(tag: str, exchanges: int = 2) -> list[dict]:
    messages = []
    for i in range(exchanges):
        messages.append({"role": "user", "content": f"{tag} question {i}"})
        messages.append({"role": "assistant", "content": f"{tag} answer {i}"})
    return messages


class ImportLoad:
    """Threads importing sessions until told to stop; remembers every import answered 200."""

    def __init__(self, base: str, tag: str, threads: int = 4, limit: int = 2000) -> None:
        self.base = base
        self.tag = tag
        self.accepted: dict[str, tuple[str, list[dict]]] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.counter = iter(range(limit))
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def __enter__(self) -> ImportLoad:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(15)

    def _run(self) -> None:
        while not self.stop.is_set():
            with self.lock:
                n = next(self.counter, None)
            if n is None:
                return
            title = f"{self.tag} import {n}"
            messages = _transcript(f"{self.tag}{n}", 1 + n % 3)
            body = {"title": title, "messages": messages}
            try:
                reply = request(self.base, "POST", "/api/session/import", body, timeout=5)
            except (OSError, http.client.HTTPException):
                continue
            if reply.status == 200:
                with self.lock:
                    self.accepted[reply.json["session"]["session_id"]] = (title, messages)

    def count(self) -> int:
        with self.lock:
            return len(self.accepted)


def _listed(server: ServerProcess) -> dict[str, dict]:
    reply = request(server.base, "GET", "/api/sessions")
    assert reply.status == 200, reply.body
    return {row["session_id"]: row for row in reply.json["sessions"]}


def _assert_all_served(server: ServerProcess, expected: dict[str, tuple[str, list[dict]]]):
    listed = _listed(server)
    missing = sorted(set(expected) - set(listed))
    assert missing == [], f"{len(missing)} accepted imports are not listed: {missing[:5]}"
    for sid, (title, messages) in expected.items():
        assert listed[sid]["title"] == title
        assert listed[sid]["message_count"] == len(messages)
        reply = request(server.base, "GET", f"/api/session?session_id={sid}")
        assert reply.status == 200, (sid, reply.body)
        assert reply.json["session"]["messages"] == messages


@pytest.mark.slow
def test_sigkilled_server_keeps_every_import_it_answered(tmp_path):
    rng = random.Random()
    server = ServerProcess(tmp_path)
    accepted: dict[str, tuple[str, list[dict]]] = {}
    try:
        server.start()
        for round_no in range(2):
            with ImportLoad(server.base, f"k{round_no}") as load:
                deadline = time.monotonic() + 10
                while load.count() < 20 and time.monotonic() < deadline:
                    time.sleep(0.01)
                time.sleep(rng.uniform(0.0, 0.4))
                server.kill()
            assert load.count() >= 20
            accepted.update(load.accepted)

            server.start()

            _assert_all_served(server, accepted)
            files = _parse_every_session_file(server.state_dir / "sessions")
            assert set(accepted) <= set(files)
            stray = [p.name for p in (server.state_dir / "sessions").iterdir() if ".tmp." in p.name]
            assert stray == []
    finally:
        server.stop()


# ── a damaged or stale index ─────────────────────────────────────────────────────────────
def _seeded_server(root: Path, count: int = 5) -> tuple[ServerProcess, dict]:
    """A stopped server whose state holds `count` imported sessions and a written index."""
    server = ServerProcess(root)
    server.start()
    sessions = {}
    try:
        for i in range(count):
            title, messages = f"Seeded {i}", _transcript(f"seed{i}", 1 + i)
            reply = request(
                server.base, "POST", "/api/session/import", {"title": title, "messages": messages}
            )
            assert reply.status == 200, reply.body
            sessions[reply.json["session"]["session_id"]] = (title, messages)
    finally:
        server.stop()
    index = json.loads((server.state_dir / "sessions" / "_index.json").read_bytes())
    assert {row["session_id"] for row in index} == set(sessions)
    return server, sessions


def _index_ids(server: ServerProcess) -> set[str]:
    return {
        row["session_id"]
        for row in json.loads((server.state_dir / "sessions" / "_index.json").read_bytes())
    }


def _without_session_ids(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "session_id"} for row in rows]


def _one_row_without_session_id(rows: list[dict]) -> list[dict]:
    return [*rows[:-1], {k: v for k, v in rows[-1].items() if k != "session_id"}]


def _with_a_path_like_row(rows: list[dict]) -> list[dict]:
    return [*rows, {**rows[0], "session_id": "../../escape"}]


DAMAGE = {
    "garbage_bytes": lambda raw: b"\x00\xff\xfe garbage {{{ \x80",
    "empty_file": lambda raw: b"",
    "truncated": lambda raw: raw[: len(raw) // 2],
    "json_object": lambda raw: json.dumps({"sessions": json.loads(raw)}).encode(),
    "json_string": lambda raw: b'"just a string"',
    "rows_without_session_id": lambda raw: json.dumps(
        _without_session_ids(json.loads(raw))
    ).encode(),
    "one_row_without_session_id": lambda raw: json.dumps(
        _one_row_without_session_id(json.loads(raw))
    ).encode(),
    "row_with_path_like_id": lambda raw: json.dumps(
        _with_a_path_like_row(json.loads(raw))
    ).encode(),
    "rows_not_objects": lambda raw: b'[1, "two", null]',
    "empty_array": lambda raw: b"[]",
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_index_is_rebuilt_at_startup_with_every_session(tmp_path, damage):
    server, sessions = _seeded_server(tmp_path)
    index_path = server.state_dir / "sessions" / "_index.json"
    index_path.write_bytes(DAMAGE[damage](index_path.read_bytes()))
    try:
        server.start()
        _assert_all_served(server, sessions)
        assert set(_listed(server)) == set(sessions)
        assert _index_ids(server) == set(sessions)
    finally:
        server.stop()
    assert _index_ids(server) == set(sessions)


def test_missing_index_is_rebuilt_at_startup_with_every_session(tmp_path):
    server, sessions = _seeded_server(tmp_path)
    (server.state_dir / "sessions" / "_index.json").unlink()
    try:
        server.start()
        assert (server.state_dir / "sessions" / "_index.json").exists()
        _assert_all_served(server, sessions)
        assert _index_ids(server) == set(sessions)
    finally:
        server.stop()


def test_startup_drops_deleted_sessions_and_picks_up_files_changed_while_stopped(tmp_path):
    server, sessions = _seeded_server(tmp_path, count=4)
    session_dir = server.state_dir / "sessions"
    index_mtime = (session_dir / "_index.json").stat().st_mtime_ns
    deleted, edited, kept, copied_from = sorted(sessions)

    (session_dir / f"{deleted}.json").unlink()
    data = json.loads((session_dir / f"{edited}.json").read_bytes())
    data["title"] = "Edited on disk"
    data["messages"] = data["messages"] + _transcript("edited extra", 1)
    (session_dir / f"{edited}.json").write_text(json.dumps(data, indent=2))
    added = json.loads((session_dir / f"{copied_from}.json").read_bytes())
    added["session_id"] = "added_while_stopped"
    added["title"] = "Added while stopped"
    (session_dir / "added_while_stopped.json").write_text(json.dumps(added, indent=2))
    assert (session_dir / f"{edited}.json").stat().st_mtime_ns > index_mtime

    try:
        server.start()
        listed = _listed(server)
        assert set(listed) == {edited, kept, copied_from, "added_while_stopped"}
        assert listed[edited]["title"] == "Edited on disk"
        assert listed[edited]["message_count"] == len(data["messages"])
        assert listed["added_while_stopped"]["title"] == "Added while stopped"
        assert listed[kept]["title"] == sessions[kept][0]
        assert request(server.base, "GET", f"/api/session?session_id={deleted}").status == 404
        served = request(server.base, "GET", f"/api/session?session_id={edited}").json
        assert served["session"]["title"] == "Edited on disk"
        assert served["session"]["messages"] == data["messages"]
    finally:
        server.stop()
    rows = {
        row["session_id"]: row for row in json.loads((session_dir / "_index.json").read_bytes())
    }
    assert set(rows) == {edited, kept, copied_from, "added_while_stopped"}
    assert rows[edited]["title"] == "Edited on disk"


def test_a_stale_temp_file_from_a_dead_writer_is_removed_at_startup(tmp_path):
    server, sessions = _seeded_server(tmp_path, count=1)
    session_dir = server.state_dir / "sessions"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True
    )
    dead_pid = int(dead.stdout)
    sid = next(iter(sessions))
    stale = session_dir / f"{sid}.tmp.{dead_pid}.7"
    stale.write_bytes(b'{"session_id": "to')
    old = time.time() - 10
    os.utime(stale, (old, old))
    try:
        server.start()
        assert not stale.exists()
        _assert_all_served(server, sessions)
    finally:
        server.stop()
