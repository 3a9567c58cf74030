"""The `hermes` command: help, the bind-address safety check, and port/host overrides."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support import REPO_ROOT, ServerProcess, free_port, request, run_hermes


def _hermes(*args: str, env: dict | None = None, timeout: float = 20):
    return run_hermes(*args, env=dict(os.environ) if env is None else env, timeout=timeout)


def test_help_lists_the_web_command():
    result = _hermes("--help")
    assert result.returncode == 0
    assert "web" in result.stdout
    assert "HERMES_HOME" in result.stdout


def test_web_help_documents_host_port_and_their_environment_variables():
    result = _hermes("web", "--help")
    assert result.returncode == 0
    for text in ("--host", "--port", "--insecure", "HERMES_WEBUI_HOST", "HERMES_WEBUI_PORT"):
        assert text in result.stdout


def test_web_refuses_a_non_loopback_address_without_insecure(tmp_path):
    server = ServerProcess(tmp_path)
    result = _hermes("web", "--host", "0.0.0.0", "--port", str(free_port()), env=server.env())
    assert result.returncode != 0
    assert "Refusing to listen on 0.0.0.0" in result.stderr + result.stdout


def test_web_reports_a_port_in_use_instead_of_a_traceback(live_server):
    result = _hermes("web", "--port", str(live_server.port), env=live_server.env())
    assert result.returncode != 0
    output = result.stderr + result.stdout
    assert "Cannot listen on 127.0.0.1" in output
    assert "Traceback" not in output


def test_port_comes_from_the_environment_and_the_flag_overrides_it(tmp_path):
    server = ServerProcess(tmp_path / "env")
    server.start()
    try:
        assert request(server.base, "GET", "/health").json["status"] == "ok"
    finally:
        server.stop()

    flagged = ServerProcess(tmp_path / "flag")
    env = flagged.env()
    env["HERMES_WEBUI_PORT"] = str(free_port())
    proc = subprocess.Popen(
        [sys.executable, "-m", "hermes_cli", "web", "--port", str(flagged.port)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    flagged.proc = proc
    try:
        flagged.wait_ready(20)
        assert request(flagged.base, "GET", "/health").status == 200
    finally:
        flagged.stop()
