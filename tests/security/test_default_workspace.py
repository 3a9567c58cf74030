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
