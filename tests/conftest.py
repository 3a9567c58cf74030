"""Shared fixtures: a live server in a subprocess, and in-process state in a temp dir.

Every path the tests or their server use lives under one temp root, set in the environment
before any `api` module is imported, so the real `~/.hermes` is never read or written.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import tempfile
import urllib.error
import urllib.request

import pytest

from tests.fakes.openai_server import FakeOpenAI
from tests.support import ServerProcess, free_port, request

TEST_ROOT = pathlib.Path(tempfile.mkdtemp(prefix="hermes-test-"))
TEST_STATE_DIR = TEST_ROOT / "state"
TEST_WORKSPACE = TEST_ROOT / "workspace"
TEST_PORT = free_port()
TEST_BASE = f"http://127.0.0.1:{TEST_PORT}"

os.environ.update(
    HERMES_HOME=str(TEST_ROOT / "hermes-home"),
    HERMES_WEBUI_STATE_DIR=str(TEST_STATE_DIR),
    HERMES_WEBUI_DEFAULT_WORKSPACE=str(TEST_WORKSPACE),
)
for _path in (TEST_STATE_DIR / "sessions", TEST_WORKSPACE):
    _path.mkdir(parents=True, exist_ok=True)


def _post(base: str, path: str, body: dict | None = None) -> dict:
    """POST JSON and return the JSON reply, error replies included (their status is lost)."""
    req = urllib.request.Request(
        base + path,
        data=json.dumps(body or {}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        try:
            return json.loads(e.read())
        except ValueError:
            return {}


def make_session_tracked(created: list, ws: pathlib.Path | None = None) -> tuple[str, pathlib.Path]:
    """Create a session over HTTP, remember it for cleanup, return (sid, workspace)."""
    body = {"workspace": str(ws)} if ws else {}
    session = _post(TEST_BASE, "/api/session/new", body)["session"]
    created.append(session["session_id"])
    return session["session_id"], pathlib.Path(session["workspace"])


@pytest.fixture(scope="session")
def live_server():
    server = ServerProcess(TEST_ROOT / "live", port=TEST_PORT)
    server.state_dir.mkdir(parents=True, exist_ok=True)
    server.extra_env = {
        "HERMES_WEBUI_STATE_DIR": str(TEST_STATE_DIR),
        "HERMES_WEBUI_DEFAULT_WORKSPACE": str(TEST_WORKSPACE),
    }
    server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def cleanup_test_sessions(live_server):
    """A list that tests append session ids to; those sessions are deleted afterwards."""
    created: list[str] = []
    yield created
    for sid in created:
        request(TEST_BASE, "POST", "/api/session/delete", {"session_id": sid})


@pytest.fixture(scope="module")
def fake():
    """The scripted OpenAI-compatible provider, one per test module (unless it has its own)."""
    with FakeOpenAI() as llm:
        yield llm


@pytest.fixture
def base_url(live_server) -> str:
    return TEST_BASE


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(TEST_ROOT, ignore_errors=True)
