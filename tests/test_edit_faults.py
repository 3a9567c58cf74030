"""Session edits are all or nothing: a bad import is refused whole, and an edit that fails
half-way leaves the session as it was, in memory and on disk."""

from __future__ import annotations

import json

import pytest

from tests.fakes.openai_server import FakeOpenAI
from tests.support import ServerProcess, fake_provider_env, request, web_server

EXCHANGE = [
    {"role": "user", "content": "Run it"},
    {"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "type": "function"}]},
    {"role": "tool", "content": "done", "tool_call_id": "c1"},
    {"role": "assistant", "content": "It ran."},
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with FakeOpenAI() as fake, web_server(tmp_path_factory.mktemp("edits"), fake) as process:
        yield process


@pytest.mark.parametrize(
    "calls",
    [
        [{"assistant_msg_idx": "NaN"}],
        [{"assistant_msg_idx": -1}],
        [{"assistant_msg_idx": 4}],
        [{"assistant_msg_idx": 1.5}],
        [{"name": "terminal"}],
        ["terminal"],
    ],
)
def test_an_import_with_bad_tool_calls_is_refused_and_stores_nothing(server, calls):
    before = request(server.base, "GET", "/api/sessions").json["sessions"]

    reply = request(
        server.base, "POST", "/api/session/import", {"messages": EXCHANGE, "tool_calls": calls}
    )

    assert reply.status == 400, reply.body
    assert "tool_calls" in reply.json["error"]
    assert request(server.base, "GET", "/api/sessions").json["sessions"] == before


def test_good_tool_calls_are_kept_and_truncate_applies_to_them(server):
    calls = [{"name": "terminal", "tid": "c1", "assistant_msg_idx": 1, "snippet": "done"}]
    imported = request(
        server.base, "POST", "/api/session/import", {"messages": EXCHANGE, "tool_calls": calls}
    )
    assert imported.status == 200, imported.body
    sid = imported.json["session"]["session_id"]
    shown = request(server.base, "GET", f"/api/session?session_id={sid}").json["session"]
    assert shown["tool_calls"] == calls

    cut = request(
        server.base, "POST", "/api/session/truncate", {"session_id": sid, "keep_count": 1}
    )

    assert cut.status == 200, cut.body
    assert [m["content"] for m in cut.json["session"]["messages"]] == ["Run it"]
    shown = request(server.base, "GET", f"/api/session?session_id={sid}").json["session"]
    assert shown["tool_calls"] == []


def test_an_edit_that_fails_half_way_changes_nothing(tmp_path):
    """A session file from an older version holds a tool call summary no edit expected."""
    with FakeOpenAI() as fake:
        server = ServerProcess(tmp_path, extra_env=fake_provider_env(fake))
        server.start()
        try:
            sid = request(server.base, "POST", "/api/session/import", {"messages": EXCHANGE}).json[
                "session"
            ]["session_id"]
            server.stop()
            path = server.state_dir / "sessions" / f"{sid}.json"
            stored = json.loads(path.read_text())
            stored["tool_calls"] = [{"assistant_msg_idx": "NaN"}, {"assistant_msg_idx": 3}]
            path.write_text(json.dumps(stored))
            server.start()

            cut = {"session_id": sid, "keep_count": 1}
            reply = request(server.base, "POST", "/api/session/truncate", cut)

            assert reply.status == 200, reply.body
            shown = request(server.base, "GET", f"/api/session?session_id={sid}").json["session"]
            assert [m["content"] for m in shown["messages"]] == ["Run it"]
            assert shown["tool_calls"] == []
            assert json.loads(path.read_text())["messages"] == shown["messages"]
        finally:
            server.stop()


def test_an_edit_whose_save_fails_is_undone_in_memory_too(server):
    sid = request(server.base, "POST", "/api/session/import", {"messages": EXCHANGE}).json[
        "session"
    ]["session_id"]
    path = server.state_dir / "sessions" / f"{sid}.json"
    path.unlink()
    path.mkdir()  # the save's final rename cannot replace a directory
    try:
        for edit, body in [
            ("/api/session/undo", {}),
            ("/api/session/retry", {}),
            ("/api/session/truncate", {"keep_count": 1}),
            ("/api/session/clear", {}),
            ("/api/session/rename", {"title": "Renamed"}),
        ]:
            reply = request(server.base, "POST", edit, {"session_id": sid, **body})
            assert reply.status >= 500 and "error" in reply.json, (edit, reply.body)
            shown = request(server.base, "GET", f"/api/session?session_id={sid}").json["session"]
            assert [m["content"] for m in shown["messages"]] == [m["content"] for m in EXCHANGE]
            assert shown["title"] == "Run it"
    finally:
        path.rmdir()
