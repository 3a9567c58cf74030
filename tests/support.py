"""Test plumbing: free ports, server processes, and an HTTP client that keeps the status."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
# Every route that takes a session id: in the query (GET) or in the body, with what else the
# body needs (POST). Tests of id validation walk all of them.
GET_ROUTES_WITH_ID = [
    "/api/session",
    "/api/session/export",
    "/api/session/status",
    "/api/session/usage",
    "/api/approval/pending",
    "/api/background/status",
    "/api/workspace/list",
    "/api/workspace/file",
    "/api/workspace/changes",
]
POST_ROUTES_WITH_ID = {
    "/api/session/update": {"model": "m"},
    "/api/session/rename": {"title": "t"},
    "/api/session/delete": {},
    "/api/session/pin": {"pinned": True},
    "/api/session/archive": {"archived": True},
    "/api/session/move": {"project_id": None},
    "/api/session/clear": {},
    "/api/session/truncate": {"keep_count": 0},
    "/api/session/branch": {"keep_count": 1},
    "/api/session/retry": {},
    "/api/session/undo": {},
    "/api/session/import_cli": {},
    "/api/chat/start": {"message": "hello"},
    "/api/approval/respond": {"choice": "deny"},
    "/api/btw": {"question": "why?"},
    "/api/background": {"prompt": "later"},
}
SECRET_ENV_PREFIXES = (
    "OPENAI_",
    "ANTHROPIC_",
    "OPENROUTER_",
    "GOOGLE_",
    "DEEPSEEK_",
    "TELEGRAM_",
    "HERMES_",
)


class Approver:
    """An approval callback that records what it was asked and gives a fixed answer."""

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.asked: list[tuple[str, str]] = []

    def __call__(self, command: str, reason: str) -> str:
        self.asked.append((command, reason))
        return self.answer


# Every built-in tool, in the order the installed entry points offer them: each test that
# checks the default tool list compares with this one.
BUILTIN_TOOLS = (
    "cronjob",
    "delegate_task",
    "read_file",
    "write_file",
    "edit_file",
    "list_dir",
    "search_files",
    "save_attachment",
    "memory",
    "session_search",
    "skills_list",
    "skill_view",
    "skill_manage",
    "terminal",
    "todo",
    "web_fetch",
    "web_search",
)


def run_hermes(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    """`python -m hermes_cli ARGS` from the repository with exactly `env`, output captured."""
    return subprocess.run(
        [sys.executable, "-m", "hermes_cli", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@contextlib.contextmanager
def local_http(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """A threaded HTTP server on 127.0.0.1 answering with `handler`; yields its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def request(
    base: str,
    method: str,
    path: str,
    body: Any = None,
    *,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10,
) -> Reply:
    """One HTTP request; errors come back as replies, with their status, never as raises."""
    if body is not None:
        data = json.dumps(body).encode()
    all_headers = {"Content-Type": "application/json"} if data is not None else {}
    all_headers.update(headers or {})
    req = urllib.request.Request(base + path, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return Reply(r.status, dict(r.headers.items()), r.read())
    except urllib.error.HTTPError as e:
        return Reply(e.code, dict(e.headers.items()), e.read())


@dataclass
class ServerProcess:
    """`hermes web` in a subprocess, with every path it uses under `root`."""

    root: Path
    port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    # (soft, hard) RLIMIT_NOFILE the server starts with, as a login shell would give it.
    open_files: tuple[int, int] | None = None
    proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    @property
    def workspace(self) -> Path:
        return self.root / "workspace"

    @property
    def home(self) -> Path:
        return self.root / "home"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(SECRET_ENV_PREFIXES)}
        env.update(
            HOME=str(self.home),
            HERMES_HOME=str(self.root / "hermes-home"),
            HERMES_WEBUI_STATE_DIR=str(self.state_dir),
            HERMES_WEBUI_DEFAULT_WORKSPACE=str(self.workspace),
            HERMES_WEBUI_DEFAULT_MODEL="openai/gpt-5.4-mini",
            HERMES_WEBUI_HOST="127.0.0.1",
            HERMES_WEBUI_PORT=str(self.port),
            PYTHONPATH=str(REPO_ROOT),
        )
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 20) -> ServerProcess:
        for path in (self.home, self.workspace, self.state_dir):
            path.mkdir(parents=True, exist_ok=True)
        self.log_path = self.root / f"server-{self.port}.log"
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child process
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hermes_cli", "web", "--log-level", "warning"],
            cwd=REPO_ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=self._limit_open_files if self.open_files else None,  # noqa: PLW1509
        )
        log.close()
        self.wait_ready(timeout)
        return self

    def _limit_open_files(self) -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, self.open_files)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.log()}")
            try:
                if request(self.base, "GET", "/health", timeout=1).json.get("status") == "ok":
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not answer /health within {timeout}s: {self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except (AttributeError, OSError):
            return ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, as in a power cut of the process."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(5)


@contextlib.contextmanager
def web_server(root: Path, fake, **settings: str) -> Iterator[ServerProcess]:
    """`hermes web` in `root`, on the scripted provider `fake` with these settings, stopped
    when the block ends."""
    process = ServerProcess(root, extra_env=fake_provider_env(fake, **settings))
    process.start()
    try:
        yield process
    finally:
        process.stop()


def fake_provider_env(fake, **extra: str) -> dict[str, str]:
    """Settings that point a server at a scripted OpenAI-compatible provider."""
    env = {
        "HERMES_PROVIDER": "openai",
        "HERMES_BASE_URL": fake.base_url,
        "HERMES_API_KEY": "test-key",
        "HERMES_MODEL": "fake-model",
        "HERMES_MAX_RETRIES": "0",
        "HERMES_LLM_TITLES": "0",
    }
    env.update(extra)
    return env


def read_events(base: str, stream_id: str, timeout: float = 10) -> list[tuple[str, dict]]:
    """A whole run's SSE events as (name, data), read until the server ends the stream."""
    reply = request(base, "GET", f"/api/chat/stream?stream_id={stream_id}", timeout=timeout)
    events = []
    for block in reply.body.decode().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            events.append((fields["event"], json.loads(fields["data"])))
    return events
