"""Plugins: tools, providers and chat platforms from other distributions, found through entry
points by real `hermes` processes.

Nothing is installed into the shared environment: each test writes a `*.dist-info` (METADATA and
entry_points.txt, as pip leaves them) into a temp directory and puts it, with the plugin
sources in `tests/plugins/`, on the `PYTHONPATH` of the process under test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hermes_state import SessionDB
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.gateway_support import GatewayProcess
from tests.support import (
    BUILTIN_TOOLS,
    REPO_ROOT,
    SECRET_ENV_PREFIXES,
    ServerProcess,
    fake_provider_env,
    read_events,
    request,
)

PLUGIN_SOURCES = REPO_ROOT / "tests" / "plugins"
ECHO = (
    "hermes-echo-plugin",
    "[hermes_station.tools]\n"
    "echo = hermes_echo_plugin:ECHO_UPPER\n"
    "[hermes_station.providers]\n"
    "echo = hermes_echo_plugin:PROVIDER\n"
    "[hermes_station.platforms]\n"
    "lines = hermes_echo_plugin.lines:PLATFORM\n"
    "[hermes_station.stores]\n"
    "elsewhere = hermes_echo_plugin.store:STORE\n",
)
BROKEN = ("hermes-broken-plugin", "[hermes_station.tools]\nbroken = hermes_broken_plugin:TOOLS\n")


def installed(root: Path, *plugins: tuple[str, str]) -> str:
    """A PYTHONPATH on which each (distribution name, entry_points.txt) is installed."""
    site = root / "site-packages"
    for name, entry_points in plugins:
        info = site / f"{name.replace('-', '_')}-1.0.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(entry_points)
    return os.pathsep.join(str(path) for path in (site, PLUGIN_SOURCES, REPO_ROOT))


def hermes(home: Path, pythonpath: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(SECRET_ENV_PREFIXES)}
    clean.update(HERMES_HOME=str(home), PYTHONPATH=pythonpath, **env)
    return subprocess.run(
        [sys.executable, "-m", "hermes_cli", *args],
        cwd=home.parent,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def llm():
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def web(tmp_path, llm):
    """Start `hermes web` on the scripted provider with the given plugins installed."""
    servers: list[ServerProcess] = []

    def start(*plugins: tuple[str, str], config: dict | None = None) -> ServerProcess:
        env = {"PYTHONPATH": installed(tmp_path, *plugins), "HERMES_WEBUI_DEFAULT_MODEL": ""}
        if config is None:
            env.update(fake_provider_env(llm))
        else:
            (tmp_path / "hermes-home").mkdir()
            (tmp_path / "hermes-home" / "config.yaml").write_text(yaml.safe_dump(config))
        server = ServerProcess(tmp_path, extra_env=env)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


def chat(server: ServerProcess, message: str) -> list[dict]:
    """One turn in a new session; the session's transcript afterwards."""
    sid = request(server.base, "POST", "/api/session/new", {}).json["session"]["session_id"]
    body = {"session_id": sid, "message": message}
    started = request(server.base, "POST", "/api/chat/start", body)
    assert started.status == 200, started.body
    read_events(server.base, started.json["stream_id"])
    return request(server.base, "GET", f"/api/session?session_id={sid}").json["session"]["messages"]


def offered_tools(llm: FakeOpenAI, index: int = 0) -> list[str]:
    return [tool["function"]["name"] for tool in llm.requests[index]["tools"]]


def _openai_config(llm: FakeOpenAI) -> dict:
    """config.yaml for the scripted provider (so the settings API may change the provider)."""
    return {
        "provider": "openai",
        "base_url": llm.base_url,
        "api_key": "k",
        "max_retries": 0,
        "llm_titles": False,
    }


# ── tools ────────────────────────────────────────────────────────────────────────────────


def test_a_plugin_tool_is_offered_to_the_model_and_runs_when_the_model_calls_it(web, llm):
    server = web(ECHO)
    llm.script(
        Reply.tool_calls([("echo_upper", {"text": "quiet please"})]),
        Reply.text("It says QUIET PLEASE."),
    )

    transcript = chat(server, "Shout it")

    assert sorted(offered_tools(llm)) == sorted([*BUILTIN_TOOLS, "echo_upper"])
    assert [m["role"] for m in transcript] == ["user", "assistant", "tool", "assistant"]
    assert transcript[1]["tool_calls"][0]["function"]["name"] == "echo_upper"
    assert transcript[2]["content"] == "QUIET PLEASE"
    sent_back = llm.requests[-1]["messages"]
    assert {"role": "tool", "content": "QUIET PLEASE"}.items() <= sent_back[-1].items()


def test_a_plugin_tool_left_out_of_enabled_tools_is_neither_offered_nor_run(web, llm):
    server = web(ECHO, config={**_openai_config(llm), "enabled_tools": ["todo"]})
    llm.script(Reply.tool_calls([("echo_upper", {"text": "sneaky"})]), Reply.text("Oh well."))

    transcript = chat(server, "Shout it")

    assert offered_tools(llm) == ["todo"]
    assert "no tool named 'echo_upper'" in transcript[2]["content"]


# ── providers ────────────────────────────────────────────────────────────────────────────


def test_a_plugin_provider_is_listed_by_the_settings_api_and_answers_once_chosen(web, llm):
    server = web(ECHO, config=_openai_config(llm))

    listed = request(server.base, "GET", "/api/settings").json["providers"]
    chosen = request(server.base, "POST", "/api/settings", {"provider": "echo"})
    transcript = chat(server, "hello there")

    assert {"name": "echo", "title": "Echo"} in listed
    assert {p["name"] for p in listed} >= {"openai", "anthropic", "local"}
    assert chosen.status == 200, chosen.body
    assert (chosen.json["provider"], chosen.json["model"]) == ("echo", "echo-1")
    assert transcript[-1]["content"] == "echo-1 heard: hello there"
    assert llm.requests == []


def test_a_plugin_provider_named_in_the_config_file_answers_hermes_chat(tmp_path):
    pythonpath = installed(tmp_path, ECHO)
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.yaml").write_text("provider: echo\nmodel: parrot\n")

    result = hermes(home, pythonpath, "chat", "Polly wants a cracker")

    assert result.returncode == 0, result.stderr
    assert result.stdout == "parrot heard: Polly wants a cracker\n"


def test_a_plugin_store_named_in_the_config_file_records_every_turn_there(tmp_path):
    pythonpath = installed(tmp_path, ECHO)
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.yaml").write_text("provider: echo\nmodel: parrot\nstore: elsewhere\n")

    said = hermes(home, pythonpath, "chat", "Keep this elsewhere")
    listed = hermes(home, pythonpath, "sessions", "list")

    assert said.returncode == 0, said.stderr
    assert not (home / "state.db").exists()
    with SessionDB(home / "elsewhere.db") as db:
        (row,) = db.list_sessions_rich()
        assert [m["content"] for m in db.get_messages(row["id"])] == [
            "Keep this elsewhere",
            "parrot heard: Keep this elsewhere",
        ]
    assert listed.returncode == 0 and row["id"] in listed.stdout


def test_an_unknown_store_is_a_config_error_listing_the_installed_ones(tmp_path):
    result = hermes(tmp_path / "home", installed(tmp_path, ECHO), "config", "show",
                    HERMES_STORE="postgres")  # fmt: skip

    assert result.returncode == 1
    assert "unknown store ['postgres']" in result.stderr
    assert "known: elsewhere, sqlite" in result.stderr


def test_an_unknown_provider_is_a_config_error_listing_the_installed_ones(tmp_path):
    result = hermes(tmp_path / "home", installed(tmp_path, ECHO), "config", "show",
                    HERMES_PROVIDER="gemini")  # fmt: skip

    assert result.returncode == 1
    assert "provider: Value error, unknown provider ['gemini']" in result.stderr
    # in the order found on the path: the plugin's directory comes first on it here
    assert "; known: echo, anthropic, local, openai" in result.stderr


def test_only_the_chosen_providers_sdk_is_imported(tmp_path):
    script = (
        "import sys, json\n"
        "from hermes_agent.providers import create_provider\n"
        "from hermes_agent.settings import GatewaySettings, Settings\n"
        "GatewaySettings()\n"
        "before = sorted(m for m in SDKS if m in sys.modules)\n"
        "create_provider(Settings(provider=sys.argv[1], api_key='k'))\n"
        "print(json.dumps([before, sorted(m for m in SDKS if m in sys.modules)]))\n"
    )
    sdks = "SDKS = ('openai', 'anthropic', 'llama_cpp', 'telegram', 'uvicorn')\n"
    imported = {}
    for provider in ("openai", "anthropic"):
        run = subprocess.run(
            [sys.executable, "-c", sdks + script, provider],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        imported[provider] = json.loads(run.stdout)
    assert imported == {"openai": [[], ["openai"]], "anthropic": [[], ["anthropic"]]}


# ── broken plugins ───────────────────────────────────────────────────────────────────────


def test_a_plugin_that_fails_to_import_is_skipped_with_a_warning_and_the_server_works(web, llm):
    server = web(BROKEN, ECHO)
    llm.script(Reply.tool_calls([("echo_upper", {"text": "still here"})]), Reply.text("Fine."))

    transcript = chat(server, "Are you alive?")

    assert transcript[2]["content"] == "STILL HERE"
    assert transcript[-1]["content"] == "Fine."
    assert sorted(offered_tools(llm)) == sorted([*BUILTIN_TOOLS, "echo_upper"])
    log = server.log()
    assert "WARNING hermes_agent.plugins: hermes_station.tools plugin 'broken'" in log
    assert "failed to load and is skipped: ImportError: hermes_broken_plugin needs" in log


def test_plugins_of_the_wrong_kind_or_taking_a_used_name_are_skipped_with_warnings(tmp_path):
    confused = (
        "hermes-confused-plugin",
        "[hermes_station.tools]\n"
        "provider = hermes_echo_plugin:PROVIDER\n"
        "again = hermes_echo_plugin:ECHO_UPPER\n",
    )

    result = hermes(tmp_path / "home", installed(tmp_path, ECHO, confused), "config", "show")

    assert result.returncode == 0, result.stderr
    tools = yaml.safe_load(result.stdout)["enabled_tools"]
    assert sorted(tools) == sorted([*BUILTIN_TOOLS, "echo_upper"])
    assert "plugin 'provider' (hermes_echo_plugin:PROVIDER) is skipped: it must name a Tool" in (
        result.stderr
    )
    assert "plugin 'again' (hermes_echo_plugin:ECHO_UPPER) registers 'echo_upper' again" in (
        result.stderr
    )


# ── chat platforms ───────────────────────────────────────────────────────────────────────


def test_a_plugin_platform_is_configured_in_its_own_section_and_answers_through_the_gateway(
    tmp_path, llm
):
    outbox = tmp_path / "answers.txt"
    gateway = GatewayProcess(
        tmp_path, llm, PYTHONPATH=installed(tmp_path, ECHO), HERMES_GATEWAY_PLATFORMS="lines"
    )
    gateway.home.mkdir(parents=True)
    section = {"messages": ["ping"], "outbox": str(outbox), "allowed_users": ["reader"]}
    (gateway.home / "config.yaml").write_text(yaml.safe_dump({"gateway": {"lines": section}}))
    llm.script(Reply.text("pong"))

    gateway.start()
    try:
        gateway.wait(lambda: outbox.exists() and outbox.read_text() == "pong\n", "answer")
    finally:
        assert gateway.stop() == 0, gateway.log()

    [row] = gateway.db().list_sessions_rich(limit=10)
    assert row["source"] == "lines"


def test_a_plugin_platform_that_cannot_start_says_why_before_anything_runs(tmp_path):
    pythonpath = installed(tmp_path, ECHO)

    result = hermes(tmp_path / "home", pythonpath, "gateway", HERMES_GATEWAY_PLATFORMS="lines")

    assert result.returncode == 1
    assert "lines needs gateway.lines.outbox" in result.stderr
