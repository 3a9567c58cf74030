"""`hermes mcp add|list|test|remove` on a temp home, with the real FastMCP server."""

from __future__ import annotations

import os
import subprocess
import sys

import yaml

from tests.support import run_hermes


def hermes(home, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HERMES_HOME": str(home), "MY_TOKEN": "token-for-the-test"}
    return run_hermes("mcp", *args, env=env)


def test_add_list_test_and_remove_a_stdio_server(tmp_path):
    added = hermes(
        tmp_path,
        "add",
        "--env",
        "FAKE_MCP_TOKEN=${MY_TOKEN}",
        "--exclude",
        "crash",
        "fake",
        "--",
        sys.executable,
        "-m",
        "tests.fakes.mcp_server",
        "stdio",
    )
    assert added.returncode == 0, added.stderr
    saved = yaml.safe_load((tmp_path / "config.yaml").read_text())["mcp_servers"]["fake"]
    assert saved["args"] == ["-m", "tests.fakes.mcp_server", "stdio"]
    assert saved["env"] == {"FAKE_MCP_TOKEN": "${MY_TOKEN}"}

    listed = hermes(tmp_path, "list")
    assert listed.stdout.startswith("fake              stdio  ")

    tested = hermes(tmp_path, "test", "fake")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "fake: ready (fake-tools" in tested.stdout
    assert "  tool      mcp_fake_write_note\n" in tested.stdout
    assert "  tool      mcp_fake_crash  (read-only, not offered)" in tested.stdout
    assert "  resource  notes://readme  readme" in tested.stdout
    assert "  prompt    summarise(topic)" in tested.stdout

    assert hermes(tmp_path, "remove", "fake").returncode == 0
    assert "No MCP servers" in hermes(tmp_path, "list").stdout


def test_trust_and_a_url_are_saved_and_a_dead_server_fails_its_test(tmp_path):
    assert (
        hermes(tmp_path, "add", "--trust", "--url", "http://127.0.0.1:9/mcp", "web").returncode == 0
    )
    saved = yaml.safe_load((tmp_path / "config.yaml").read_text())["mcp_servers"]["web"]
    assert saved == {"url": "http://127.0.0.1:9/mcp", "trusted": True}
    tested = hermes(tmp_path, "test", "web")
    assert tested.returncode == 1
    assert tested.stdout.startswith("web: failed: ")


def test_mistakes_are_explained_and_nothing_is_saved(tmp_path):
    cases = [
        (("add", "x"), "give either a command"),
        (("add", "x", "--env", "A=b", "--", "cmd"), "put --env before the server's name"),
        (("add", "--url", "ftp://host", "x"), "http:// or https://"),
        (("add", "Bad/Name", "--", "cmd"), "not a server name"),
        (("add", "--env", "novalue", "x", "--", "cmd"), "--env takes KEY=VALUE"),
    ]
    for args, message in cases:
        result = hermes(tmp_path, *args)
        assert result.returncode == 1
        assert message in result.stderr
    assert not (tmp_path / "config.yaml").exists()
    assert hermes(tmp_path, "remove", "nothing").returncode == 1
