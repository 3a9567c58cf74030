"""A fresh install with nothing configured: the agent's file tools work in the default
workspace, which lies outside the protected Hermes home and is made on first use."""

from __future__ import annotations

from pathlib import Path

from api.config import DEFAULT_WORKSPACE, LEGACY_DEFAULT_WORKSPACE
from api.models import Session
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.support import ServerProcess, fake_provider_env, read_events, request

WORKSPACE_VARIABLES = ("HERMES_HOME", "HERMES_WEBUI_STATE_DIR", "HERMES_WEBUI_DEFAULT_WORKSPACE")


class FreshInstall(ServerProcess):
    """`hermes web` with only HOME set, as after `make run` on a new machine."""

    def env(self) -> dict[str, str]:
        env = super().env()
        for name in WORKSPACE_VARIABLES:
            env.pop(name)
        return env


def test_a_file_tool_call_works_with_no_workspace_variable_set(tmp_path):
    with FakeOpenAI() as llm:
        server = FreshInstall(tmp_path / "fresh", extra_env=fake_provider_env(llm))
        workspace = server.home / "HermesWorkspace"
        server.start()
        try:
            assert not workspace.exists(), "made on first use, not at start"
            llm.script(
                Reply.tool_calls([("write_file", {"path": "notes.txt", "content": "hello"})]),
                Reply.tool_calls([("read_file", {"path": "notes.txt"})]),
                Reply.tool_calls([("terminal", {"command": "ls"})]),
                Reply.text("Saved."),
            )
            session = request(server.base, "POST", "/api/session/new", {}).json["session"]
            assert Path(session["workspace"]) == workspace
            run = request(
                server.base,
                "POST",
                "/api/chat/start",
                {"session_id": session["session_id"], "message": "save a note"},
            )
            assert run.status == 200, run.body
            read_events(server.base, run.json["stream_id"], timeout=30)
            transcript = request(
                server.base, "GET", f"/api/session?session_id={session['session_id']}"
            ).json["session"]["messages"]
        finally:
            server.stop()
    results = [m["content"] for m in transcript if m["role"] == "tool"]
    assert len(results) == 3, transcript
    assert not any("protected" in r or r.startswith("Error") for r in results), results
    assert results[1].strip() == "hello"
    assert "notes.txt" in results[2]
    assert (workspace / "notes.txt").read_text() == "hello"
    hermes_home = server.home / ".hermes"
    assert hermes_home.is_dir(), "the Hermes home defaults to ~/.hermes"
    assert not (hermes_home / "notes.txt").exists()
    assert transcript[-1]["content"] == "Saved."


def test_sessions_that_named_the_old_default_inside_the_hermes_home_get_the_new_one():
    assert LEGACY_DEFAULT_WORKSPACE != DEFAULT_WORKSPACE
    assert Session(workspace=str(LEGACY_DEFAULT_WORKSPACE)).workspace == str(DEFAULT_WORKSPACE)
    elsewhere = str(DEFAULT_WORKSPACE / "project")
    assert Session(workspace=elsewhere).workspace == elsewhere


def test_the_web_servers_own_state_is_out_of_reach_of_turns_and_side_questions(tmp_path):
    """With the state dir (sessions, password hash, cookie key) inside the workspace, neither
    a turn nor a side question can reach it through the file tools."""
    with FakeOpenAI() as llm:
        server = ServerProcess(tmp_path / "srv", extra_env=fake_provider_env(llm))
        server.extra_env["HERMES_WEBUI_STATE_DIR"] = str(server.workspace / "webui")
        server.start()
        try:
            sid = request(server.base, "POST", "/api/session/new", {}).json["session"]["session_id"]
            peek = Reply.tool_calls([("list_dir", {"path": "webui/sessions"})])
            llm.script(peek, Reply.text("Looked."))
            run = request(
                server.base, "POST", "/api/chat/start", {"session_id": sid, "message": "look"}
            )
            read_events(server.base, run.json["stream_id"], timeout=30)
            in_turn = [m for m in llm.requests[-1]["messages"] if m["role"] == "tool"]
            llm.script(peek, Reply.text("Looked again."))
            aside = request(server.base, "POST", "/api/btw", {"session_id": sid, "question": "?"})
            read_events(server.base, aside.json["stream_id"], timeout=30)
            in_aside = [m for m in llm.requests[-1]["messages"] if m["role"] == "tool"]
        finally:
            server.stop()
    # The side question carries the conversation, so its own call's result comes last.
    assert in_aside[-1]["tool_call_id"] != in_turn[-1]["tool_call_id"]
    for results in (in_turn, in_aside):
        assert "protected" in results[-1]["content"]
        assert sid not in results[-1]["content"]
