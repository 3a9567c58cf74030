"""Set-up and helpers shared by the benchmark scripts in this folder.

Each script runs by path (`.venv/bin/python bench/<name>.py`), which puts this folder on
`sys.path`, so `from common import ...` works without a package. Importing this module first
makes the repository importable and points `HERMES_HOME` at a fresh temp directory (unless it
is set already), so the benchmarks never touch a real home; import it before `api`,
`hermes_state` or `tests`, which read that setting.

Here: the timing helpers every script reports with, and the keep-alive HTTP client the scripts
that drive a real server share.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HERMES_HOME", tempfile.mkdtemp(prefix="hermes-bench-home-"))


def ms(seconds: float) -> float:
    """Seconds as milliseconds, rounded to the microsecond."""
    return round(seconds * 1000, 3)


def median_ms(fn: Callable[[], object], runs: int) -> float:
    """Median wall time of `runs` calls of `fn`, in milliseconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return ms(statistics.median(times))


class Client:
    """A keep-alive HTTP/1.1 client: the figures measure the server, not connection setup.

    `call` returns the reply body as bytes (nothing spent on parsing it), `call_json` the
    parsed JSON. Any status but 200 raises.
    """

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, method: str, path: str, body: dict | None = None) -> bytes:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data else {}
        try:
            self.conn.request(method, path, body=data, headers=headers)
            reply = self.conn.getresponse()
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            # The server closed the idle keep-alive connection (e.g. while a stream was read).
            self.conn.close()
            self.conn.request(method, path, body=data, headers=headers)
            reply = self.conn.getresponse()
        payload = reply.read()
        if reply.status != 200:
            raise RuntimeError(f"{method} {path}: {reply.status} {payload[:200]!r}")
        return payload

    def call_json(self, method: str, path: str, body: dict | None = None) -> Any:
        return json.loads(self.call(method, path, body))

    def new_session(self) -> str:
        """A new empty session's id."""
        return self.call_json("POST", "/api/session/new", {})["session"]["session_id"]
