"""MCP servers through a real `hermes web`: started lazily with the first conversation, their
tools called by the scripted model with results in the transcript, approval asked in the
browser's way, and the Tools API that manages them."""

from __future__ import annotations

import sys
import time

import psutil
import pytest
import yaml

from tests.fakes.openai_server import Reply
from tests.support import REPO_ROOT, ServerProcess, fake_provider_env, read_events, request

RESTART_SECONDS = 60
STDIO = {"command": sys.executable, "args": ["-m", "tests.fakes.mcp_server", "stdio"]}


@pytest.fixture(scope="module")
def server(tmp_path_factory, fake):
    root = tmp_path_factory.mktemp("mcp-web")
    notes = root / "notes.txt"
    servers = {
        name: {**STDIO, "cwd": str(REPO_ROOT), "env": {"FAKE_MCP_NOTES": str(notes)}}
        for name in ("fake", "second", "third")
    }
    servers["second"]["env"]["SOME_KEY"] = "written-key-0123456789"
    (root / "hermes-home").mkdir()
    (root / "hermes-home" / "config.yaml").write_text(yaml.safe_dump({"mcp_servers": servers}))
    process = ServerProcess(root, extra_env=fake_provider_env(fake))
    process.start()
    process.notes = notes
    yield process
    process.stop()


def mcp_children(server: ServerProcess) -> list[psutil.Process]:
    children = psutil.Process(server.proc.pid).children(recursive=True)
    return [p for p in children if "tests.fakes.mcp_server" in " ".join(p.cmdline())]


def new(server: ServerProcess) -> str:
    return request(server.base, "POST", "/api/session/new", {}).json["session"]["session_id"]


def start(server: ServerProcess, sid: str, text: str) -> str:
    started = request(server.base, "POST", "/api/chat/start", {"session_id": sid, "message": text})
    assert started.status == 200, started.body
    return started.json["stream_id"]


def messages(server: ServerProcess, sid: str) -> list[dict]:
    return request(server.base, "GET", f"/api/session?session_id={sid}").json["session"]["messages"]


def test_servers_start_with_the_first_conversation_and_their_tools_are_called(server, fake):
    assert mcp_children(server) == [], "nothing starts with the process"
    listed = request(server.base, "GET", "/api/tools").json
    assert {s["name"]: s["state"] for s in listed["mcp_servers"]} == {
        "fake": "idle",
        "second": "idle",
        "third": "idle",
    }

    before = len(fake.requests)
    fake.script(
        Reply.tool_calls([("mcp_fake_echo", {"text": "over MCP"})]), Reply.text("It echoed.")
    )
    sid = new(server)
    events = read_events(server.base, start(server, sid, "echo something"))
    assert events[-1][0] == "stream_end"
    offered = {t["function"]["name"] for t in fake.requests[before]["tools"]}
    assert {"mcp_fake_echo", "mcp_second_echo", "mcp_third_add"} <= offered
    tool = next(m for m in messages(server, sid) if m["role"] == "tool")
    assert tool["content"] == "echo: over MCP"
    assert fake.requests[before + 1]["messages"][-1]["content"] == "echo: over MCP"
    assert len(mcp_children(server)) == 3, "one process per server, shared by the process"


def test_a_changing_tool_asks_in_the_browser_and_runs_once_allowed(server, fake):
    fake.script(
        Reply.tool_calls([("mcp_fake_write_note", {"text": "from the web"})]),
        Reply.text("Noted."),
    )
    sid = new(server)
    stream_id = start(server, sid, "write a note")
    deadline = time.monotonic() + 20
    while True:
        pending = request(server.base, "GET", f"/api/approval/pending?session_id={sid}").json
        if pending["pending"]:
            break
        assert time.monotonic() < deadline, "no approval was asked for"
        time.sleep(0.05)
    assert pending["pending"]["command"] == 'mcp_fake_write_note {"text": "from the web"}'
    assert not server.notes.exists()
    answer = request(
        server.base, "POST", "/api/approval/respond", {"session_id": sid, "choice": "once"}
    )
    assert answer.status == 200
    assert read_events(server.base, stream_id)[-1][0] == "stream_end"
    assert server.notes.read_text() == "from the web\n"


def test_a_server_that_crashes_mid_turn_costs_the_call_an_error_and_comes_back(server, fake):
    fake.script(
        Reply.tool_calls([("mcp_fake_crash", {})]),
        Reply.tool_calls([("mcp_fake_echo", {"text": "too soon?"})]),
        Reply.text("It crashed."),
    )
    sid = new(server)
    # The second call waits for the restart: a new process importing the SDK, slow on a busy
    # machine.
    turn = read_events(server.base, start(server, sid, "crash it"), timeout=RESTART_SECONDS)
    assert turn[-1][0] == "stream_end"
    results = [m for m in messages(server, sid) if m["role"] == "tool"]
    assert "stopped while answering" in results[0]["content"]
    assert messages(server, sid)[-1]["content"] == "It crashed."

    def ready() -> bool:
        listed = request(server.base, "GET", "/api/tools").json["mcp_servers"]
        return next(s for s in listed if s["name"] == "fake")["state"] == "ready"

    deadline = time.monotonic() + RESTART_SECONDS
    while not ready():
        assert time.monotonic() < deadline, "the server was not restarted"
        time.sleep(0.1)
    fake.script(Reply.tool_calls([("mcp_fake_echo", {"text": "back"})]), Reply.text("Back."))
    assert read_events(server.base, start(server, sid, "again"))[-1][0] == "stream_end"
    assert [m for m in messages(server, sid) if m["role"] == "tool"][-1]["content"] == "echo: back"


def test_the_tools_api_masks_written_secrets_and_keeps_them_on_save(server):
    listed = request(server.base, "GET", "/api/tools").json
    second = next(s for s in listed["mcp_servers"] if s["name"] == "second")
    assert second["config"]["env"]["SOME_KEY"] == "••••••"
    assert "written-key-0123456789" not in str(listed)
    assert {t["name"] for t in listed["builtin"]} >= {"terminal", "web_fetch"}

    edited = {**second["config"], "timeout": 5}
    for key in ("trusted", "transport"):
        edited.pop(key)
    saved = request(
        server.base, "POST", "/api/mcp/server/save", {"name": "second", "server": edited}
    )
    assert saved.status == 200, saved.body
    config = yaml.safe_load((server.root / "hermes-home" / "config.yaml").read_text())
    assert config["mcp_servers"]["second"]["env"]["SOME_KEY"] == "written-key-0123456789"
    assert config["mcp_servers"]["second"]["timeout"] == 5


def saved_servers(server: ServerProcess) -> dict:
    return yaml.safe_load((server.root / "hermes-home" / "config.yaml").read_text())["mcp_servers"]


def test_trust_cannot_be_set_over_http_and_is_lost_when_the_program_changes(server):
    body = {"name": "third", "server": {**STDIO, "cwd": str(REPO_ROOT), "trusted": True}}
    request(server.base, "POST", "/api/mcp/server/save", body)
    assert not saved_servers(server)["third"].get("trusted")

    from hermes_agent.mcp_client.config import parse_server, save_server

    env = {"HERMES_HOME": str(server.root / "hermes-home")}
    trusted = parse_server("trusty", {**STDIO, "trusted": True})
    save_server("trusty", trusted, env)
    same = {**STDIO, "timeout": 9}
    request(server.base, "POST", "/api/mcp/server/save", {"name": "trusty", "server": same})
    assert saved_servers(server)["trusty"]["trusted"] is True, "an edit keeps the trust"
    other = {"command": "/bin/true", "enabled": False}
    request(server.base, "POST", "/api/mcp/server/save", {"name": "trusty", "server": other})
    assert not saved_servers(server)["trusty"].get("trusted"), "another program is not trusted"
    request(server.base, "POST", "/api/mcp/server/delete", {"name": "trusty"})


def test_test_enable_and_delete_a_server(server):
    tried = request(server.base, "POST", "/api/mcp/server/test", {"name": "third"}, timeout=40)
    assert tried.status == 200
    assert tried.json["state"] == "ready"
    assert "write_note" in {t["name"] for t in tried.json["tools"]}

    off = request(
        server.base, "POST", "/api/mcp/server/enable", {"name": "third", "enabled": False}
    )
    assert off.json["server"]["state"] == "disabled"
    gone = request(server.base, "POST", "/api/mcp/server/delete", {"name": "third"})
    assert gone.status == 200
    names = [s["name"] for s in request(server.base, "GET", "/api/tools").json["mcp_servers"]]
    assert "third" not in names


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/api/mcp/server/save", {"name": "../etc", "server": STDIO}, 400),
        ("/api/mcp/server/save", {"name": "x", "server": {}}, 400),
        ("/api/mcp/server/save", {"name": "x", "server": {**STDIO, "url": "http://a"}}, 400),
        ("/api/mcp/server/save", {"name": "x", "server": {"url": "gopher://a"}}, 400),
        ("/api/mcp/server/delete", {"name": "nosuchserver"}, 404),
        ("/api/mcp/server/enable", {"name": "nosuchserver", "enabled": True}, 404),
        ("/api/mcp/server/test", {"name": "nosuchserver"}, 404),
    ],
)
def test_bad_requests_get_a_clear_error_and_change_nothing(server, path, body, status):
    before = (server.root / "hermes-home" / "config.yaml").read_bytes()
    reply = request(server.base, "POST", path, body)
    assert reply.status == status
    assert reply.json["error"]
    assert (server.root / "hermes-home" / "config.yaml").read_bytes() == before


def test_stopping_the_server_ends_its_mcp_servers(server):
    """Last in this module: it stops the server."""
    children = mcp_children(server)
    assert children, "the servers were started by the conversations above"
    server.stop()
    _gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive
