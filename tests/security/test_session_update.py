"""`POST /api/session/update` over real HTTP: a session's workspace and model, the workspace
trust rules of `session/new`, and the refusal to move a session under a live run."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.conftest import TEST_BASE, TEST_ROOT, TEST_STATE_DIR, TEST_WORKSPACE
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.support import ServerProcess, fake_provider_env, read_events, request

SESSIONS_DIR = TEST_STATE_DIR / "sessions"
LIVE_HOME = TEST_ROOT / "live" / "home"  # HOME of the shared live server
PATH_LIKE_IDS = ["../etc/passwd", "a/b", "..", "ABC", "a-b", "a" * 65, "abc.json", "/tmp/abc"]


# ── helpers ──────────────────────────────────────────────────────────────────────────────
def post(base: str, path: str, body: object) -> Any:
    return request(base, "POST", path, body)


def new_session(base: str, created: list | None = None) -> dict[str, Any]:
    reply = post(base, "/api/session/new", {})
    assert reply.status == 200, reply.body
    session = reply.json["session"]
    if created is not None:
        created.append(session["session_id"])
    return session


def update(base: str, **body: object) -> Any:
    return post(base, "/api/session/update", body)


def reloaded(base: str, sid: str) -> dict[str, Any]:
    reply = request(base, "GET", "/api/session?" + urlencode({"session_id": sid}))
    assert reply.status == 200, reply.body
    return reply.json["session"]


def on_disk(sid: str) -> dict[str, Any]:
    return json.loads((SESSIONS_DIR / f"{sid}.json").read_bytes())


def directory(parent: Path) -> Path:
    path = parent / f"update-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    return path


def assert_error(reply: Any, status: int, text: str) -> None:
    assert reply.status == status, (reply.status, reply.body)
    assert text in reply.json["error"]


# ── the happy paths ──────────────────────────────────────────────────────────────────────
def test_update_moves_the_session_to_another_workspace_and_keeps_it(cleanup_test_sessions):
    sid = new_session(TEST_BASE, cleanup_test_sessions)["session_id"]
    target = directory(TEST_WORKSPACE)

    reply = update(TEST_BASE, session_id=sid, workspace=str(target))

    assert reply.status == 200, reply.body
    assert reply.json["ok"] is True
    assert reply.json["session"]["session_id"] == sid
    assert reply.json["session"]["workspace"] == str(target)
    assert "messages" not in reply.json["session"]
    assert reloaded(TEST_BASE, sid)["workspace"] == str(target)
    assert on_disk(sid)["workspace"] == str(target)


def test_a_directory_under_home_is_a_trusted_workspace(cleanup_test_sessions):
    sid = new_session(TEST_BASE, cleanup_test_sessions)["session_id"]
    target = directory(LIVE_HOME)
    reply = update(TEST_BASE, session_id=sid, workspace=str(target))
    assert reply.status == 200, reply.body
    assert reloaded(TEST_BASE, sid)["workspace"] == str(target)


def test_update_sets_the_model_and_an_empty_model_means_the_default(cleanup_test_sessions):
    session = new_session(TEST_BASE, cleanup_test_sessions)
    sid, workspace = session["session_id"], session["workspace"]

    reply = update(TEST_BASE, session_id=sid, model="  vendor/bigger-model  ")
    assert reply.status == 200, reply.body
    assert reply.json["session"]["model"] == "vendor/bigger-model"
    assert reloaded(TEST_BASE, sid)["model"] == "vendor/bigger-model"
    assert on_disk(sid)["model"] == "vendor/bigger-model"

    assert update(TEST_BASE, session_id=sid, model="").status == 200
    assert reloaded(TEST_BASE, sid)["model"] == ""
    assert reloaded(TEST_BASE, sid)["workspace"] == workspace, "the workspace is left alone"


def test_fields_left_out_or_blank_stay_as_they_are(cleanup_test_sessions):
    sid = new_session(TEST_BASE, cleanup_test_sessions)["session_id"]
    target = directory(TEST_WORKSPACE)
    assert update(TEST_BASE, session_id=sid, workspace=str(target), model="kept").status == 200

    for body in ({}, {"workspace": None, "model": None}, {"workspace": "  "}):
        reply = update(TEST_BASE, session_id=sid, **body)
        assert reply.status == 200, reply.body
        assert (reply.json["session"]["workspace"], reply.json["session"]["model"]) == (
            str(target),
            "kept",
        )
    assert (on_disk(sid)["workspace"], on_disk(sid)["model"]) == (str(target), "kept")


# ── refusals ─────────────────────────────────────────────────────────────────────────────
@pytest.mark.parametrize("where", ["/", "/etc", "/usr/bin", "tmp"])
def test_an_untrusted_directory_is_400_outside_and_changes_nothing(
    cleanup_test_sessions, tmp_path, where
):
    sid = new_session(TEST_BASE, cleanup_test_sessions)["session_id"]
    assert update(TEST_BASE, session_id=sid, model="before").status == 200
    before = on_disk(sid)
    target = str(directory(tmp_path)) if where == "tmp" else where

    reply = update(TEST_BASE, session_id=sid, workspace=target, model="after")

    assert_error(reply, 400, "outside")
    assert on_disk(sid) == before
    assert reloaded(TEST_BASE, sid)["model"] == "before"


@pytest.mark.parametrize(
    ("workspace", "text"),
    [("/no/such/dir/anywhere", "does not exist"), ("bad\x00path", "NUL")],
)
def test_a_missing_or_unusable_workspace_is_400(cleanup_test_sessions, workspace, text):
    sid = new_session(TEST_BASE, cleanup_test_sessions)["session_id"]
    assert_error(update(TEST_BASE, session_id=sid, workspace=workspace), 400, text)


def test_a_file_is_not_a_workspace(cleanup_test_sessions):
    sid = new_session(TEST_BASE, cleanup_test_sessions)["session_id"]
    target = directory(TEST_WORKSPACE) / "notes.txt"
    target.write_text("x")
    assert_error(update(TEST_BASE, session_id=sid, workspace=str(target)), 400, "not a directory")


@pytest.mark.parametrize("body", [{}, {"model": "m"}, {"session_id": "", "model": "m"}])
def test_a_missing_session_id_is_400(body):
    reply = post(TEST_BASE, "/api/session/update", body)
    assert reply.status == 400, reply.body
    assert reply.json == {"error": "Missing required field(s): session_id"}


def test_an_unknown_session_is_404_and_writes_nothing():
    sid = "nosuchsession" + uuid.uuid4().hex[:8]
    reply = update(TEST_BASE, session_id=sid, model="m")
    assert reply.status == 404, reply.body
    assert reply.json == {"error": "Session not found"}
    assert not (SESSIONS_DIR / f"{sid}.json").exists()


@pytest.mark.parametrize("bad_id", PATH_LIKE_IDS)
def test_a_path_like_session_id_is_400(bad_id):
    reply = update(TEST_BASE, session_id=bad_id, model="m", workspace=str(TEST_WORKSPACE))
    assert reply.status == 400, reply.body
    assert reply.json == {"error": "Invalid session_id"}


# ── with a run: the model goes to the next turn, the workspace cannot move under it ───────
@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as provider:
        yield provider


@pytest.fixture(scope="module")
def chat_server(tmp_path_factory, fake) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("update"), extra_env=fake_provider_env(fake))
    server.start()
    yield server
    server.stop()


def start_turn(base: str, sid: str, message: str) -> str:
    reply = post(base, "/api/chat/start", {"session_id": sid, "message": message})
    assert reply.status == 200, reply.body
    return reply.json["stream_id"]


def wait_until_running(base: str, sid: str) -> None:
    deadline = time.monotonic() + 10
    while not request(base, "GET", f"/api/session/status?session_id={sid}").json["agent_running"]:
        assert time.monotonic() < deadline, "the run never started"
        time.sleep(0.02)


def test_the_next_turn_uses_the_updated_model_and_workspace(chat_server, fake):
    base = chat_server.base
    sid = new_session(base)["session_id"]
    target = directory(chat_server.workspace)
    assert update(base, session_id=sid, workspace=str(target), model="fake-large").status == 200

    fake.script(Reply.text("Done."))
    events = read_events(base, start_turn(base, sid, "where are you?"))

    assert events[-1][0] == "stream_end"
    sent = fake.requests[-1]
    assert sent["model"] == "fake-large"
    assert str(target) in json.dumps(sent["messages"])
    assert reloaded(base, sid)["workspace"] == str(target)


def test_workspace_change_during_a_run_is_409_and_a_model_change_is_not(chat_server, fake):
    base = chat_server.base
    session = new_session(base)
    sid, workspace = session["session_id"], session["workspace"]
    fake.script(Reply.text("A slow answer that takes a little while to arrive.", delay=0.1))
    stream_id = start_turn(base, sid, "take your time")
    wait_until_running(base, sid)

    moved = update(base, session_id=sid, workspace=str(directory(chat_server.workspace)))
    same_place = update(base, session_id=sid, workspace=workspace)
    new_model = update(base, session_id=sid, model="fake-next")

    assert moved.status == 409, moved.body
    assert moved.json["active_stream_id"] == stream_id
    assert same_place.status == 200, "naming the workspace it already has is no move"
    assert new_model.status == 200, new_model.body
    assert read_events(base, stream_id)[-1][0] == "stream_end"
    after = reloaded(base, sid)
    assert (after["workspace"], after["model"]) == (workspace, "fake-next")
    assert [m["role"] for m in after["messages"]] == ["user", "assistant"]
