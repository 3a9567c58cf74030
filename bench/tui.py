"""Terminal gateway figures, printed as JSON (medians unless named otherwise).

    .venv/bin/python bench/tui.py [--quick]

`python -m tui_gateway` in a subprocess, driven over its pipes; the scripted OpenAI fake runs
in a process of its own (`streaming.FakeProcess`).

- `start`: from spawning the gateway to its `gateway.ready` line, against an interpreter that
  starts and writes one line (the floor); then the first `session.create` sent at once (it
  waits for the agent, the store and the provider SDK to load), and one sent after the
  gateway loaded them in the background.
- `delta_overhead`: one 2,000-token answer from the fake with no delay, read as
  `message.delta` lines by this process, against the same answer read from the fake with
  the `openai` SDK. The overhead per delta is the difference of the two spans (first piece
  to last) over the number of pieces: the agent's hand-off, the event's encoding and write,
  and the line rendering. `plain`: one paragraph; `markdown`: a line break every ten words,
  so rendered lines ride along.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

# First: puts the repository on sys.path and sets HERMES_HOME for the imports below.
from common import ROOT, ms

# isort: split
import openai
from streaming import FakeProcess, answer_of, direct_turn

from tests.fakes.openai_server import FAKE_MODEL

TARGETS_MS = {"start_to_ready": 300.0, "delta_overhead": 1.0}
FLOOR = "import sys; sys.stdout.write('ready\\n'); sys.stdout.flush()"


class GatewayProcess:
    """The gateway on pipes; a reader thread stamps each stdout line as it arrives."""

    def __init__(self, home: Path, base_url: str | None = None) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "HERMES_HOME": str(home)}
        if base_url:
            env.update(
                HERMES_PROVIDER="openai",
                HERMES_BASE_URL=base_url,
                HERMES_API_KEY="k",
                HERMES_MODEL=FAKE_MODEL,
                HERMES_MAX_RETRIES="0",
                HERMES_LLM_TITLES="0",
            )
        home.mkdir(parents=True, exist_ok=True)
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tui_gateway"],
            cwd=home,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.lines: queue.Queue[tuple[float, bytes]] = queue.Queue()
        self._next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put((time.perf_counter(), line))

    def next_line(self, marker: bytes) -> tuple[float, bytes]:
        """(arrival time, line) of the next line containing `marker`."""
        while True:
            at, line = self.lines.get(timeout=60)
            if marker in line:
                return at, line

    def call(self, method: str, params: dict | None = None) -> tuple[float, dict]:
        """(time the reply arrived, result) of one request."""
        self._next_id += 1
        marker = f'"id":{self._next_id},'.encode()
        request = {"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params}
        self.proc.stdin.write(json.dumps(request).encode() + b"\n")
        self.proc.stdin.flush()
        at, line = self.next_line(marker)
        return at, json.loads(line)["result"]

    def turn(self) -> list[float]:
        """Arrival times of the `message.delta` lines of a new session's first turn (so the
        request stays small whatever ran before)."""
        _, created = self.call("session.create", {})
        self.call("prompt.submit", {"session_id": created["session_id"], "text": "Go on."})
        times = []
        while True:
            at, line = self.lines.get(timeout=60)
            if b'"message.delta"' in line:
                times.append(at)
            elif b'"message.complete"' in line:
                return times

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(30)


def _spawn_floor() -> float:
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", FLOOR], stdout=subprocess.PIPE)
    proc.stdout.readline()
    elapsed = time.perf_counter() - started
    proc.wait()
    return elapsed


def bench_start(workdir: Path, fake: FakeProcess, runs: int) -> dict:
    ready, floor, first_create, warm_create = [], [], [], []
    for i in range(runs):
        floor.append(_spawn_floor())
        gateway = GatewayProcess(workdir / f"start-{i}", fake.base_url)
        at, _ = gateway.next_line(b'"gateway.ready"')
        ready.append(at - gateway.started)
        sent = time.perf_counter()
        at, _ = gateway.call("session.create", {})
        first_create.append(at - sent)
        gateway.close()
    for i in range(max(3, runs // 4)):
        gateway = GatewayProcess(workdir / f"warm-{i}", fake.base_url)
        gateway.next_line(b'"gateway.ready"')
        time.sleep(2.0)  # the background load is done by now
        sent = time.perf_counter()
        at, _ = gateway.call("session.create", {})
        warm_create.append(at - sent)
        gateway.close()
    return {
        "runs": runs,
        "start_to_ready_ms": ms(statistics.median(ready)),
        "start_to_ready_max_ms": ms(max(ready)),
        "interpreter_floor_ms": ms(statistics.median(floor)),
        "first_create_at_once_ms": ms(statistics.median(first_create)),
        "first_create_after_load_ms": ms(statistics.median(warm_create)),
    }


def _span_per_piece(times: list[float]) -> float:
    return (times[-1] - times[0]) / (len(times) - 1)


def _overhead(
    gateway: GatewayProcess, fake: FakeProcess, sdk: openai.OpenAI, text: str, runs: int
) -> dict:
    fake.reply(text)
    gateway.turn()  # warm-up: connection, rendering imports
    direct_turn(sdk)
    through_gateway, direct, pieces = [], [], set()
    for _ in range(runs):
        times = gateway.turn()
        through_gateway.append(_span_per_piece(times))
        pieces.add(len(times))
        _, times = direct_turn(sdk)
        direct.append(_span_per_piece(times))
        pieces.add(len(times))
    added = [g - d for g, d in zip(through_gateway, direct, strict=True)]
    return {
        "deltas": sorted(pieces),
        "gateway_ms_per_delta": ms(statistics.median(through_gateway)),
        "direct_ms_per_piece": ms(statistics.median(direct)),
        "overhead_ms_per_delta": ms(statistics.median(added)),
        "gateway_deltas_per_s": round(1 / statistics.median(through_gateway)),
    }


def bench_delta_overhead(workdir: Path, fake: FakeProcess, runs: int) -> dict:
    sdk = openai.OpenAI(base_url=fake.base_url, api_key="k", max_retries=0)
    gateway = GatewayProcess(workdir / "deltas", fake.base_url)
    try:
        gateway.next_line(b'"gateway.ready"')
        figures = {}
        plain = answer_of(2000)
        words = plain.split(" ")
        markdown = "\n".join(" ".join(words[i : i + 10]) for i in range(0, len(words), 10))
        for name, text in (("plain", plain), ("markdown", markdown)):
            figures[name] = _overhead(gateway, fake, sdk, text, runs)
        return figures
    finally:
        gateway.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs")
    runs = 3 if parser.parse_args().quick else 10
    with (
        tempfile.TemporaryDirectory(prefix="hermes-bench-tui-") as tmp,
        contextlib.closing(FakeProcess()) as fake,
    ):
        results = {
            "start": bench_start(Path(tmp), fake, runs),
            "delta_overhead": bench_delta_overhead(Path(tmp), fake, runs),
            "targets_ms": TARGETS_MS,
        }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
