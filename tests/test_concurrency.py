"""Concurrent requests against the live server: edits of one session never tear or duplicate.

Every request goes over real HTTP to the shared server; a reader thread parses the session
file in a loop while the requests run, so a torn or missing file is seen the moment it exists.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.conftest import TEST_BASE, TEST_STATE_DIR
from tests.support import request

WORKERS = 8
STORM_SECONDS = 30
NOTHING_LEFT = {"No previous message to retry.", "Nothing to undo."}


def _transcript(exchanges: int, tag: str) -> list[dict]:
    messages = []
    for i in range(exchanges):
        messages.append({"role": "user", "content": f"{tag} question {i}", "_ts": 1000.0 + i})
        messages.append({"role": "assistant", "content": f"{tag} answer {i}", "_ts": 1000.5 + i})
    return messages


def _import(body: dict, created: list[str]) -> str:
    reply = request(TEST_BASE, "POST", "/api/session/import", body)
    assert reply.status == 200, reply.body
    sid = reply.json["session"]["session_id"]
    created.append(sid)
    return sid


def _session_file(sid: str) -> Path:
    return TEST_STATE_DIR / "sessions" / f"{sid}.json"


def _sidebar() -> dict[str, dict]:
    reply = request(TEST_BASE, "GET", "/api/sessions")
    assert reply.status == 200, reply.body
    return {row["session_id"]: row for row in reply.json["sessions"]}


class FileWatcher(threading.Thread):
    """Parses one session file (and the index) in a loop; records everything that is wrong."""

    def __init__(self, path: Path, original: list[dict]) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.index_path = path.parent / "_index.json"
        self.original = original
        self.stop = threading.Event()
        self.reads = 0
        self.problems: list[str] = []

    def run(self) -> None:
        deadline = time.monotonic() + STORM_SECONDS
        while not self.stop.is_set() and time.monotonic() < deadline:
            self.problems.extend(check_file(self.path, self.original))
            try:
                rows = json.loads(self.index_path.read_bytes())
                if not isinstance(rows, list):
                    self.problems.append(f"index is not a list: {type(rows).__name__}")
            except (OSError, ValueError) as exc:
                self.problems.append(f"index unreadable: {exc!r}")
            self.reads += 1
            if len(self.problems) > 20:
                return


def check_file(path: Path, original: list[dict]) -> list[str]:
    """What is wrong with the file: unreadable, not JSON, or not a whole-exchange prefix."""
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return ["session file missing"]
    except ValueError as exc:
        return [f"session file is not JSON: {exc}"]
    messages = data.get("messages")
    if not isinstance(messages, list):
        return [f"messages is {type(messages).__name__}"]
    if len(messages) % 2 or messages != original[: len(messages)]:
        return [f"transcript of {len(messages)} messages is not a prefix of whole exchanges"]
    return []


def _storm(sid: str, original: list[dict], ops: list[tuple[str, dict]]) -> list[tuple]:
    """Send `ops` from WORKERS threads while a watcher parses the file; return the results."""
    watcher = FileWatcher(_session_file(sid), original)
    watcher.start()

    def send(op: tuple[str, dict]) -> tuple:
        path, body = op
        reply = request(TEST_BASE, "POST", path, {"session_id": sid, **body}, timeout=20)
        return path, body, reply.status, reply.json, check_file(_session_file(sid), original)

    try:
        with ThreadPoolExecutor(WORKERS) as pool:
            results = list(pool.map(send, ops))
    finally:
        watcher.stop.set()
        watcher.join(5)
    assert watcher.problems == []
    assert watcher.reads > 0
    for path, body, _status, _json, problems in results:
        assert problems == [], (path, body)
    return results


def _mixed_ops(retries: int, undos: int, renames: int, pins: int) -> list[tuple[str, dict]]:
    drops = [("/api/session/retry", {})] * retries + [("/api/session/undo", {})] * undos
    edits = [("/api/session/rename", {"title": f"Title {i}"}) for i in range(renames)]
    edits += [("/api/session/pin", {"pinned": i % 2 == 0}) for i in range(pins)]
    ops = []
    for i in range(max(len(drops), len(edits))):
        ops.extend(group[i] for group in (drops, edits) if i < len(group))
    return ops


def test_parallel_retry_undo_rename_pin_leave_a_whole_prefix_of_the_transcript(
    cleanup_test_sessions,
):
    original = _transcript(30, "storm")
    sid = _import({"title": "Storm", "messages": original}, cleanup_test_sessions)
    ops = _mixed_ops(retries=12, undos=12, renames=16, pins=16)

    results = _storm(sid, original, ops)

    assert Counter(status for *_, status, _json, _p in results) == Counter({200: len(ops)})
    dropped_texts = [r[3]["last_user_text"] for r in results if r[0] == "/api/session/retry"] + [
        r[3]["removed_preview"] for r in results if r[0] == "/api/session/undo"
    ]
    assert all(r[3]["removed_count"] == 2 for r in results if r[0].endswith(("retry", "undo")))
    # Each drop removed a different exchange: the last 24, each exactly once.
    assert sorted(dropped_texts) == sorted(f"storm question {i}" for i in range(6, 30))

    on_disk = json.loads(_session_file(sid).read_bytes())
    assert on_disk["messages"] == original[:12]
    assert on_disk["title"] in {f"Title {i}" for i in range(16)}
    served = request(TEST_BASE, "GET", f"/api/session?session_id={sid}").json["session"]
    assert served["messages"] == original[:12]
    assert (served["title"], served["pinned"]) == (on_disk["title"], on_disk["pinned"])
    row = _sidebar()[sid]
    assert (row["title"], row["pinned"], row["message_count"]) == (
        on_disk["title"],
        on_disk["pinned"],
        12,
    )


def test_parallel_drops_past_the_start_answer_409_and_empty_the_transcript_exactly_once(
    cleanup_test_sessions,
):
    original = _transcript(6, "drain")
    sid = _import({"title": "Drain", "messages": original}, cleanup_test_sessions)
    ops = _mixed_ops(retries=10, undos=10, renames=8, pins=8)

    results = _storm(sid, original, ops)

    drops = [r for r in results if r[0].endswith(("retry", "undo"))]
    edits = [r for r in results if not r[0].endswith(("retry", "undo"))]
    assert all(r[2] == 200 for r in edits), [(r[0], r[2], r[3]) for r in edits if r[2] != 200]
    assert {r[2] for r in drops} <= {200, 409}
    refused = [r for r in drops if r[2] == 409]
    assert len(refused) == 20 - 6
    assert {r[3]["error"] for r in refused} <= NOTHING_LEFT
    accepted = [r for r in drops if r[2] == 200]
    texts = [r[3].get("last_user_text") or r[3].get("removed_preview") for r in accepted]
    assert sorted(texts) == sorted(f"drain question {i}" for i in range(6))

    assert json.loads(_session_file(sid).read_bytes())["messages"] == []
    served = request(TEST_BASE, "GET", f"/api/session?session_id={sid}").json["session"]
    assert served["messages"] == []


def test_parallel_imports_all_appear_in_the_list_and_on_disk(cleanup_test_sessions):
    count = 50

    def import_one(i: int) -> tuple[int, int, dict]:
        body = {"title": f"Parallel import {i}", "messages": _transcript(1 + i % 3, f"imp{i}")}
        reply = request(TEST_BASE, "POST", "/api/session/import", body, timeout=20)
        return i, reply.status, reply.json

    with ThreadPoolExecutor(WORKERS) as pool:
        results = list(pool.map(import_one, range(count)))

    assert [status for _i, status, _body in results] == [200] * count
    sids = {i: body["session"]["session_id"] for i, _status, body in results}
    cleanup_test_sessions.extend(sids.values())
    assert len(set(sids.values())) == count

    listed = _sidebar()
    for i, sid in sids.items():
        assert listed[sid]["title"] == f"Parallel import {i}"
        assert listed[sid]["message_count"] == 2 * (1 + i % 3)
        data = json.loads(_session_file(sid).read_bytes())
        assert data["title"] == f"Parallel import {i}"
        assert data["messages"] == _transcript(1 + i % 3, f"imp{i}")

    index_path = TEST_STATE_DIR / "sessions" / "_index.json"
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        indexed = {row["session_id"] for row in json.loads(index_path.read_bytes())}
        if set(sids.values()) <= indexed:
            break
        time.sleep(0.05)
    assert set(sids.values()) <= indexed
    # Every session save has returned; only the index writer may still be mid-write.
    leftovers = [
        p.name
        for p in (TEST_STATE_DIR / "sessions").iterdir()
        if ".tmp." in p.name and not p.name.startswith("_")
    ]
    assert leftovers == []


def test_a_deleted_session_stays_deleted_when_edits_race_the_delete(cleanup_test_sessions):
    for trial in range(10):
        sid = _import(
            {"title": f"Doomed {trial}", "messages": _transcript(3, f"doomed{trial}")},
            cleanup_test_sessions,
        )
        ops = [("/api/session/rename", {"title": f"Renamed {i}"}) for i in range(12)]
        ops.insert(6, ("/api/session/delete", {}))

        def send(op: tuple[str, dict], sid: str = sid) -> tuple[str, int]:
            path, body = op
            return path, request(TEST_BASE, "POST", path, {"session_id": sid, **body}).status

        with ThreadPoolExecutor(WORKERS) as pool:
            results = list(pool.map(send, ops))

        assert ("/api/session/delete", 200) in results
        assert {status for _path, status in results} <= {200, 404}
        state = (
            _session_file(sid).exists(),
            sid in _sidebar(),
            request(TEST_BASE, "GET", f"/api/session?session_id={sid}").status,
        )
        assert state == (False, False, 404), f"trial {trial}: {results}"
