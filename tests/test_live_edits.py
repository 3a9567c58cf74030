"""Edits of a conversation while its answer is still streaming.

An undo, retry, truncate or clear made during a live answer used to be applied and then
silently reverted by the run's final save. They are refused with 409 while a run is live (the
reply names the run, so the page can offer Stop first), and work again once it has ended. A
delete during a live run stops the run cleanly, and nothing brings the session back.
"""

from __future__ import annotations

import time

import pytest

from tests.fakes.openai_server import Reply
from tests.support import read_events, request, web_server

SLOW_ANSWER = "one two three four five six seven eight"


@pytest.fixture(scope="module")
def server(fake, tmp_path_factory):
    with web_server(tmp_path_factory.mktemp("live-edits"), fake) as process:
        yield process


def _session_with_one_turn(server, fake) -> str:
    sid = request(server.base, "POST", "/api/session/new", {}).json["session"]["session_id"]
    fake.script(Reply.text("First answer."))
    started = request(server.base, "POST", "/api/chat/start", {"session_id": sid, "message": "Hi"})
    read_events(server.base, started.json["stream_id"])
    return sid


def _start_slow_turn(server, fake, sid: str) -> str:
    fake.script(Reply.text(SLOW_ANSWER, delay=0.15))
    body = {"session_id": sid, "message": "Take your time"}
    started = request(server.base, "POST", "/api/chat/start", body)
    assert started.status == 200, started.body
    time.sleep(0.3)  # the answer is streaming now
    return started.json["stream_id"]


@pytest.mark.parametrize(
    ("edit", "body"),
    [
        ("/api/session/undo", {}),
        ("/api/session/retry", {}),
        ("/api/session/truncate", {"keep_count": 0}),
        ("/api/session/clear", {}),
    ],
)
def test_an_edit_during_a_live_answer_is_refused_and_works_after_it(server, fake, edit, body):
    sid = _session_with_one_turn(server, fake)
    stream_id = _start_slow_turn(server, fake, sid)

    refused = request(server.base, "POST", edit, {"session_id": sid, **body})

    assert refused.status == 409, refused.body
    assert refused.json["active_stream_id"] == stream_id
    assert "stop" in refused.json["error"].lower()
    assert read_events(server.base, stream_id)[-1][0] == "stream_end"
    shown = request(server.base, "GET", f"/api/session?session_id={sid}").json["session"]
    assert [m["content"] for m in shown["messages"]] == [
        "Hi",
        "First answer.",
        "Take your time",
        SLOW_ANSWER,
    ]
    assert request(server.base, "POST", edit, {"session_id": sid, **body}).status == 200


def test_deleting_a_session_during_a_live_answer_stops_the_run_cleanly(server, fake):
    sid = _session_with_one_turn(server, fake)
    stream_id = _start_slow_turn(server, fake, sid)
    log_before = server.log_path.read_text(errors="replace")

    deleted = request(server.base, "POST", "/api/session/delete", {"session_id": sid})

    assert deleted.status == 200
    events = read_events(server.base, stream_id, timeout=5)
    assert events[-1][0] in ("cancel", "stream_end"), events[-1]
    assert _ends_within(server, stream_id, seconds=5), "the run stops soon after the cancel"
    assert request(server.base, "GET", f"/api/session?session_id={sid}").status == 404
    assert not (server.state_dir / "sessions" / f"{sid}.json").exists()
    logged = server.log_path.read_text(errors="replace")[len(log_before) :]
    assert "Traceback" not in logged, logged


def _ends_within(server, stream_id: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    path = f"/api/chat/stream/status?stream_id={stream_id}"
    while time.monotonic() < deadline:
        if not request(server.base, "GET", path).json["active"]:
            return True
        time.sleep(0.05)
    return False
