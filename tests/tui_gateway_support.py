"""Driving `python -m tui_gateway` over pipes, as a terminal client does, for the tests of
the gateway and of the surfaces that share its conversations."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tests.fakes.openai_server import FakeOpenAI
from tests.support import REPO_ROOT, SECRET_ENV_PREFIXES, fake_provider_env

TIMEOUT = 15


class Gateway:
    """One gateway process. Every stdout line must be a JSON-RPC frame: the reader fails
    the test on anything else. Events are kept in arrival order; `_seen` is how far the
    test has looked."""

    def __init__(self, root: Path, fake: FakeOpenAI, **settings: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(SECRET_ENV_PREFIXES)}
        env.update(fake_provider_env(fake, **settings), HERMES_HOME=str(root / "home"))
        env["PYTHONPATH"] = str(REPO_ROOT)
        self.workspace = root / "work"
        self.workspace.mkdir(exist_ok=True)
        self.stderr = open(root / "gateway.log", "ab")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tui_gateway"],
            cwd=self.workspace,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
        )
        self.frames: queue.Queue[dict | None] = queue.Queue()
        self.events: list[dict] = []
        self.replies: dict[Any, dict] = {}
        self.bad_lines: list[bytes] = []
        self._seen = 0
        self._next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            try:
                frame = json.loads(line)
            except ValueError:
                self.bad_lines.append(line)
                continue
            self.frames.put(frame)
        self.frames.put(None)

    def _pump(self) -> None:
        frame = self.frames.get(timeout=TIMEOUT)
        assert frame is not None, "the gateway closed its output"
        assert frame["jsonrpc"] == "2.0"
        if frame.get("method") == "event":
            self.events.append(frame["params"])
        else:
            self.replies[frame["id"]] = frame

    def send_line(self, data: bytes) -> None:
        self.proc.stdin.write(data + b"\n")
        self.proc.stdin.flush()

    def call(self, method: str, params: dict | None = None) -> dict:
        """The whole reply frame of one request."""
        self._next_id += 1
        rid = self._next_id
        self.send_line(
            json.dumps(
                {"jsonrpc": "2.0", "id": rid, "method": method, "params": params or {}}
            ).encode()
        )
        return self.reply(rid)

    def reply(self, rid: Any) -> dict:
        while rid not in self.replies:
            self._pump()
        return self.replies.pop(rid)

    def result(self, method: str, params: dict | None = None) -> dict:
        frame = self.call(method, params)
        assert "result" in frame, frame
        return frame["result"]

    def error(self, method: str, params: dict | None = None) -> dict:
        frame = self.call(method, params)
        assert "error" in frame, frame
        return frame["error"]

    def until(self, kind: str, sid: str | None = None) -> list[dict]:
        """The events after the last ones looked at, up to the next `kind` (of `sid`)."""
        start = self._seen
        while True:
            while self._seen < len(self.events):
                event = self.events[self._seen]
                self._seen += 1
                if event["type"] == kind and sid in (None, event["session_id"]):
                    return self.events[start : self._seen]
            self._pump()

    def turn(self, sid: str, text: str) -> tuple[list[dict], dict]:
        """Submit a message; the turn's events and the `message.complete` payload."""
        self._seen = len(self.events)
        assert self.result("prompt.submit", {"session_id": sid, "text": text}) == {
            "status": "streaming"
        }
        events = self.until("message.complete", sid)
        return events, events[-1]["payload"]

    def create(self) -> str:
        return self.result("session.create")["session_id"]

    def close(self) -> int:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.stderr.close()
        assert not self.bad_lines, f"non-protocol output on stdout: {self.bad_lines}"
        return self.proc.returncode


@contextlib.contextmanager
def started_gateways(root: Path, fake: FakeOpenAI) -> Iterator[Callable[..., Gateway]]:
    """A function that starts a gateway (several in turn share one home and state.db) and
    waits for `gateway.ready`; every gateway it started is closed on exit."""
    started: list[Gateway] = []

    def start(**settings: str) -> Gateway:
        gateway = Gateway(root, fake, **settings)
        started.append(gateway)
        ready = gateway.until("gateway.ready")[-1]
        assert ready["session_id"] is None and ready["payload"]["protocol"] == 1
        return gateway

    try:
        yield start
    finally:
        for gateway in started:
            gateway.close()
