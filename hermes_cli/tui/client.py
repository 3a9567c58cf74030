"""The protocol client: one `python -m tui_gateway` subprocess spoken to over its pipes.

A reader thread parses the gateway's stdout frames. Replies complete the `Future` of the
request with the same id; events go, in arrival order, to `events`. When the gateway exits
(or closes its output) every waiting request fails with `GatewayGone`, and so does
`next_event` once the events that arrived before are taken.

The gateway runs in a session of its own: the terminal's Ctrl+C reaches only the client,
which decides what to tell the gateway (`session.interrupt`, or close and quit).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import queue
import subprocess
import sys
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from hermes_agent.errors import HermesError

log = logging.getLogger("hermes_cli.tui")

CALL_TIMEOUT = 30.0
LOG_TAIL_LINES = 8


class RpcError(HermesError):
    """The gateway answered a request with an error (`code` as in docs/tui.md)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message, code=code)
        self.code = code


class GatewayGone(HermesError):
    """The gateway exited or closed its output; no request can be answered any more."""


@dataclass(frozen=True)
class Event:
    type: str
    session_id: str | None
    payload: dict[str, Any] = field(default_factory=dict)


class GatewayClient:
    """Starts the gateway on `start()`; `close()` ends it (end of input, then signals)."""

    def __init__(
        self,
        argv: list[str] | None = None,
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.argv = argv or [sys.executable, "-m", "tui_gateway"]
        self.env, self.cwd, self.log_path = env, cwd, log_path
        self.events: queue.Queue[Event | None] = queue.Queue()
        self.proc: subprocess.Popen | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, Future] = {}
        self._lock = threading.Lock()  # guards _pending and _gone
        # Writes have a lock of their own: a write blocked on a full pipe must not stop the
        # reader from routing replies (the gateway may be waiting for us to read).
        self._write_lock = threading.Lock()
        self._gone: GatewayGone | None = None
        self._reader: threading.Thread | None = None

    def start(self) -> GatewayClient:
        stderr: IO[bytes] | int = subprocess.DEVNULL
        if self.log_path is not None:
            stderr = open(self.log_path, "ab")  # noqa: SIM115 - the child keeps its own copy
        try:
            self.proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
            )
        except OSError as exc:
            raise GatewayGone(f"could not start the gateway: {exc}") from exc
        finally:
            if not isinstance(stderr, int):
                stderr.close()
        self._reader = threading.Thread(target=self._read, name="gateway-reader", daemon=True)
        self._reader.start()
        return self

    # -- requests ----------------------------------------------------------------------------

    def request(self, method: str, params: dict[str, Any] | None = None) -> Future:
        """Send one request; its Future holds the result, or raises RpcError/GatewayGone."""
        future: Future = Future()
        with self._lock:
            if self._gone is not None:
                future.set_exception(self._gone)
                return future
            rid = next(self._ids)
            self._pending[rid] = future
        frame = {"jsonrpc": "2.0", "id": rid, "method": method, "params": params or {}}
        with self._write_lock:
            try:
                self.proc.stdin.write(json.dumps(frame).encode() + b"\n")
                self.proc.stdin.flush()
            except (OSError, ValueError):  # a closed pipe: the reader reports the exit
                log.info("could not send %s: the gateway's input is closed", method)
        return future

    def call(
        self, method: str, params: dict[str, Any] | None = None, timeout: float = CALL_TIMEOUT
    ) -> dict[str, Any]:
        """Send one request and wait for its result."""
        return self.request(method, params).result(timeout)

    def next_event(self, timeout: float | None = None) -> Event | None:
        """The next event, None when none came within `timeout`; GatewayGone after the last."""
        try:
            event = self.events.get(timeout=timeout)
        except queue.Empty:
            return None
        if event is None:
            self.events.put(None)  # every later call sees the end too
            raise self._gone or GatewayGone("the gateway stopped")
        return event

    # -- the reader --------------------------------------------------------------------------

    def _read(self) -> None:
        for line in self.proc.stdout:
            try:
                frame = json.loads(line)
            except ValueError:
                log.warning("not a protocol frame: %r", line[:200])
                continue
            if isinstance(frame, dict):
                self._route(frame)
        self._ended()

    def _route(self, frame: dict[str, Any]) -> None:
        if frame.get("method") == "event":
            params = frame.get("params") or {}
            event = Event(params.get("type", ""), params.get("session_id"))
            if isinstance(params.get("payload"), dict):
                event = Event(event.type, event.session_id, params["payload"])
            self.events.put(event)
            return
        with self._lock:
            future = self._pending.pop(frame.get("id"), None)
        if future is None:
            return  # a reply nobody waits for (a protocol error about no request of ours)
        if "error" in frame:
            err = frame["error"] or {}
            future.set_exception(RpcError(int(err.get("code", 0)), str(err.get("message"))))
        else:
            future.set_result(frame.get("result") or {})

    def _ended(self) -> None:
        try:
            code = self.proc.wait(5)
        except subprocess.TimeoutExpired:
            code = None
        gone = GatewayGone(self.describe_exit(code))
        with self._lock:
            self._gone = gone
            waiting, self._pending = list(self._pending.values()), {}
        for future in waiting:
            future.set_exception(gone)
        self.events.put(None)

    def describe_exit(self, code: int | None) -> str:
        if code is None:
            status = "closed its output"
        elif code < 0:
            status = f"was killed by signal {-code}"
        else:
            status = f"exited with status {code}"
        text = f"the gateway {status}"
        tail = self.log_tail()
        if tail:
            text += "; the end of its log:\n" + tail
        elif self.log_path is not None:
            text += f" (log: {self.log_path})"
        return text

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        if self.log_path is None:
            return ""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, 2)
                f.seek(max(0, f.tell() - 8192))
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # -- state and shutdown ------------------------------------------------------------------

    @property
    def gone(self) -> bool:
        return self._gone is not None

    def close(self, timeout: float = 5.0) -> int | None:
        """End the gateway: end of input, then SIGTERM, then SIGKILL. Its exit status."""
        if self.proc is None:
            return None
        with contextlib.suppress(OSError):  # already gone: nothing left to flush
            self.proc.stdin.close()
        for stop in (None, self.proc.terminate, self.proc.kill):
            if stop is not None:
                stop()
            try:
                code = self.proc.wait(timeout)
                break
            except subprocess.TimeoutExpired:
                log.warning("the gateway did not exit within %.0f s", timeout)
        else:
            code = self.proc.poll()
        if self._reader is not None:
            self._reader.join(timeout)
        return code
