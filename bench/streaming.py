"""Chat streaming figures, printed as JSON (medians unless named otherwise).

    .venv/bin/python bench/streaming.py [--quick]

A real server (`hermes web` in a subprocess) talks to the scripted OpenAI fake, which runs in
a process of its own so that neither the server nor the readers share its interpreter.

- `throughput`: one 2,000-token answer read through `GET /api/chat/stream`, against the same
  answer read from the fake with the `openai` SDK (stream=True): with the fake as fast as it
  goes (delay 0) and paced at 2,000 tokens/s. Rates are tokens over the time from the first
  token to the last; `ratio` is server / direct.
- `added_ttft`: per turn of one session (after a warm-up turn), (start of `POST
  /api/chat/start` to the first `token` event) minus (start of the SDK call to the first
  content chunk) for the very request the server sent, replayed; also against a one-message
  request, and the first token of a new session's first turn.
- `concurrent_50`: 50 sessions streaming at once, one SSE reader thread each, after a warm-up
  round that creates their agents; gaps between consecutive tokens of a stream, over all
  streams, first-token latency and the server's CPU time. The same readers on the fake
  directly give the floor that this machine and the readers impose.
- `checkpoint_save`: `Session.save(skip_index=True)` of a 200-message session with a run in
  progress, in process (two fsyncs: the file and its directory).
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# First: puts the repository on sys.path and sets HERMES_HOME for the imports below.
from common import ROOT, Client, median_ms, ms

os.environ.setdefault("HERMES_WEBUI_STATE_DIR", tempfile.mkdtemp(prefix="hermes-bench-state-"))

import openai

from api import models, session_index
from tests.fakes.openai_server import FAKE_MODEL, split_tokens
from tests.support import ServerProcess

TARGETS = {
    "throughput_ratio": 0.9,
    "throughput_tokens_per_s": 2000,
    "added_ttft_ms": 10.0,
    "gap_p99_ms": 100.0,
    "checkpoint_save_ms": 3.0,
}
TERMINAL_EVENTS = (b"stream_end", b"apperror", b"cancel")

# The fake in its own process; each stdin line sets the reply every request gets.
FAKE = """
import json, sys
from tests.fakes.openai_server import FakeOpenAI, Reply

with FakeOpenAI() as fake:
    print(fake.base_url, flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        if command.get("last_request"):
            print(json.dumps(fake.requests[-1]), flush=True)
            continue
        fake.default = Reply.text(command["content"], delay=command["delay"])
        print("ok", flush=True)
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def answer_of(tokens: int) -> str:
    """A text the fake streams as exactly `tokens` chunks."""
    words = ("lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit")
    text = " ".join(words[i % len(words)] for i in range(tokens))
    assert len(split_tokens(text)) == tokens
    return text


class FakeProcess:
    """The scripted OpenAI fake in a subprocess; `reply` sets what every request gets."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", FAKE],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.base_url = self.proc.stdout.readline().strip()
        if not self.base_url:
            raise RuntimeError("the fake did not start")

    def reply(self, content: str, delay: float = 0.0) -> None:
        self.proc.stdin.write(json.dumps({"content": content, "delay": delay}) + "\n")
        self.proc.stdin.flush()
        if self.proc.stdout.readline().strip() != "ok":
            raise RuntimeError("the fake did not take the reply")

    def last_request(self) -> dict:
        """The body of the last chat request the fake received."""
        self.proc.stdin.write(json.dumps({"last_request": True}) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(30)


def read_tokens(port: int, stream_id: str) -> tuple[list[float], str]:
    """Arrival times of the run's `token` events, and the event that ended the stream."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", f"/api/chat/stream?stream_id={stream_id}")
        response = conn.getresponse()
        times: list[float] = []
        for line in response:
            if not line.startswith(b"event: "):
                continue
            name = line[7:].strip()
            if name == b"token":
                times.append(time.perf_counter())
            elif name in TERMINAL_EVENTS:
                return times, name.decode()
        return times, "closed"
    finally:
        conn.close()


def server_turn(client: Client, sid: str, message: str = "Go on.") -> tuple[float, list[float]]:
    """(start time, token times) of one turn through the server."""
    start = time.perf_counter()
    body = {"session_id": sid, "message": message}
    stream_id = client.call_json("POST", "/api/chat/start", body)["stream_id"]
    times, end = read_tokens(client.conn.port, stream_id)
    if end != "stream_end":
        raise RuntimeError(f"the run ended with {end}")
    return start, times


MINIMAL_REQUEST = {"model": FAKE_MODEL, "messages": [{"role": "user", "content": "Go on."}]}


def direct_turn(sdk: openai.OpenAI, body: dict = MINIMAL_REQUEST) -> tuple[float, list[float]]:
    """(start time, content chunk times) of one streamed request to the fake with the SDK.

    `body` is a chat request: a short one by default, or one the server sent, replayed.
    """
    params = {k: v for k, v in body.items() if k in ("model", "messages", "tools")}
    start = time.perf_counter()
    stream = sdk.chat.completions.create(**params, stream=True)
    times = [
        time.perf_counter() for chunk in stream if chunk.choices and chunk.choices[0].delta.content
    ]
    return start, times


def rate(times: list[float]) -> float:
    return (len(times) - 1) / (times[-1] - times[0])


def _throughput(
    fake: FakeProcess, client: Client, sdk: openai.OpenAI, runs: int, delay: float
) -> dict:
    tokens = 2000
    fake.reply(answer_of(tokens), delay)
    direct_turn(sdk)
    server_turn(client, client.new_session())  # warm-up: imports, first agent
    direct, through_server, counts = [], [], set()
    for _ in range(runs):
        _, times = direct_turn(sdk)
        direct.append(rate(times))
        counts.add(len(times))
        _, times = server_turn(client, client.new_session())
        through_server.append(rate(times))
        counts.add(len(times))
    direct_rate = statistics.median(direct)
    server_rate = statistics.median(through_server)
    return {
        "fake_delay_ms": round(delay * 1000, 4),
        "tokens": sorted(counts),
        "direct_tokens_per_s": round(direct_rate),
        "server_tokens_per_s": round(server_rate),
        "ratio": round(server_rate / direct_rate, 3),
    }


def bench_throughput(fake: FakeProcess, client: Client, sdk: openai.OpenAI, runs: int) -> dict:
    """As fast as the fake goes (delay 0), and with the fake paced at 2,000 tokens/s."""
    target = TARGETS["throughput_tokens_per_s"]
    unpaced = _throughput(fake, client, sdk, runs, 0.0)
    unpaced["fake_reaches_2000_tokens_per_s"] = unpaced["direct_tokens_per_s"] >= target
    # The fake sleeps a little longer than asked: shorten its delay by what one sleep overshoots.
    delay = 1 / target
    for _ in range(3):
        fake.reply(answer_of(2000), delay)
        reached = statistics.median(rate(direct_turn(sdk)[1]) for _ in range(3))
        if reached >= target:
            break
        delay = max(0.0, delay - (1 / reached - 1 / target))
    return {"unpaced": unpaced, "paced_2000": _throughput(fake, client, sdk, runs, delay)}


def bench_added_ttft(fake: FakeProcess, client: Client, sdk: openai.OpenAI, runs: int) -> dict:
    """Per turn: the server's first token, the same request replayed, and a short request."""
    fake.reply(answer_of(20))
    sid = client.new_session()
    server_turn(client, sid)
    direct_turn(sdk)
    through_server, replayed, minimal, new_session = [], [], [], []
    for _ in range(runs):
        start, times = server_turn(client, sid)
        through_server.append(times[0] - start)
        sent = fake.last_request()
        start, times = direct_turn(sdk, sent)
        replayed.append(times[0] - start)
        start, times = direct_turn(sdk)
        minimal.append(times[0] - start)
    for _ in range(max(3, runs // 4)):
        start, times = server_turn(client, client.new_session())
        new_session.append(times[0] - start)
    added = [s - d for s, d in zip(through_server, replayed, strict=True)]
    added_minimal = [s - d for s, d in zip(through_server, minimal, strict=True)]
    return {
        "turns": runs,
        "messages_in_last_request": len(sent["messages"]),
        "tools_in_request": len(sent.get("tools") or []),
        "server_ttft_ms": ms(statistics.median(through_server)),
        "direct_ttft_same_request_ms": ms(statistics.median(replayed)),
        "direct_ttft_short_request_ms": ms(statistics.median(minimal)),
        "added_ttft_ms": ms(statistics.median(added)),
        "added_ttft_p90_ms": ms(percentile(added, 0.9)),
        "added_ttft_vs_short_request_ms": ms(statistics.median(added_minimal)),
        "server_ttft_new_session_ms": ms(statistics.median(new_session)),
    }


def _concurrently(count: int, turn: Callable[[int], Any]) -> tuple[list, float]:
    """Run `turn(i)` for i < count in threads started together; (results, wall seconds)."""
    results: list = [None] * count
    errors: list[BaseException] = []
    barrier = threading.Barrier(count + 1)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = turn(i)
        except BaseException as exc:  # reported below, the other readers go on
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join(120)
    if errors:
        raise RuntimeError(f"{len(errors)} of {count} streams failed: {errors[0]!r}")
    return results, time.perf_counter() - start


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def _gap_figures(runs: list[tuple[float, list[float], str]], tokens: int, wall: float) -> dict:
    streams = [times for _, times, _ in runs]
    gaps = [b - a for times in streams for a, b in itertools.pairwise(times)]
    first = [times[0] - start for start, times, _ in runs if times]
    return {
        "complete": sum(len(t) == tokens and end == "stream_end" for _, t, end in runs),
        "first_token_median_ms": ms(statistics.median(first)),
        "first_token_max_ms": ms(max(first)),
        "gap_p50_ms": ms(percentile(gaps, 0.5)),
        "gap_p99_ms": ms(percentile(gaps, 0.99)),
        "gap_p999_ms": ms(percentile(gaps, 0.999)),
        "gap_max_ms": ms(max(gaps)),
        "gaps_over_100ms": sum(gap > 0.1 for gap in gaps),
        "aggregate_tokens_per_s": round(sum(map(len, streams)) / wall),
        "wall_s": round(wall, 2),
    }


def _concurrent_round(
    fake: FakeProcess, server: ServerProcess, streams: int, tokens: int, delay: float
) -> dict:
    """One warm-up turn per session (agents created), then the measured round, all at once."""
    client = Client(server.port)
    sessions = [client.new_session() for _ in range(streams)]

    def through_server(i: int) -> tuple[float, list[float], str]:
        reader = Client(server.port)
        start = time.perf_counter()
        stream_id = reader.call_json(
            "POST", "/api/chat/start", {"session_id": sessions[i], "message": "Go on."}
        )["stream_id"]
        return (start, *read_tokens(server.port, stream_id))

    fake.reply(answer_of(5))
    warm, _ = _concurrently(streams, through_server)
    fake.reply(answer_of(tokens), delay)
    user, system = cpu_seconds(server.proc.pid)
    measured, wall = _concurrently(streams, through_server)
    user_after, system_after = cpu_seconds(server.proc.pid)

    # The fake's listen backlog is socketserver's 5: connections refused in the burst retry.
    sdk = openai.OpenAI(base_url=fake.base_url, api_key="k", max_retries=5)

    def direct(_: int) -> tuple[float, list[float], str]:
        return (*direct_turn(sdk), "stream_end")

    direct_runs, direct_wall = _concurrently(streams, direct)
    figures = _gap_figures(measured, tokens, wall)
    figures["server_cpu_user_s"] = round(user_after - user, 2)
    figures["server_cpu_system_s"] = round(system_after - system, 2)
    figures["first_round_first_token_median_ms"] = _gap_figures(warm, 5, 1.0)[
        "first_token_median_ms"
    ]
    return {
        "streams": streams,
        "tokens_each": tokens,
        "tokens_per_s_each": round(1 / delay),
        "server": figures,
        "direct_with_sdk": _gap_figures(direct_runs, tokens, direct_wall),
    }


def bench_concurrent(fake: FakeProcess, server: ServerProcess, streams: int) -> dict:
    """50 streams at a typical model speed (50 tokens/s each), and at 20 tokens/s each."""
    return {
        "50_tokens_per_s_each": _concurrent_round(fake, server, streams, 200, 0.02),
        "20_tokens_per_s_each": _concurrent_round(fake, server, streams, 100, 0.05),
    }


def bench_checkpoint_save(workdir: Path, runs: int) -> dict:
    session_dir = workdir / "checkpoint" / "sessions"
    session_dir.mkdir(parents=True)
    session_index.close_current()
    models.SESSION_DIR = session_dir
    models.SESSION_INDEX_FILE = session_dir / "_index.json"
    models.SESSIONS.clear()
    text = ("lorem ipsum dolor sit amet " * 20)[:500]
    now = time.time()
    messages = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": text, "timestamp": now + i}
        for i in range(200)
    ]
    s = models.Session(title="Checkpoint", messages=messages)
    s.active_stream_id = "0" * 32
    s.pending_user_message = "Explain the plan, step by step."
    s.pending_started_at = now
    s.pending_partial_text = text * 8
    s.save()
    checkpoint = lambda: s.save(skip_index=True)  # noqa: E731
    figures = {
        "messages": len(s.messages),
        "file_kb": round(s.path.stat().st_size / 1024, 1),
        "save_skip_index_ms": median_ms(checkpoint, runs),
    }
    session_index.close_current()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs")
    args = parser.parse_args()
    runs = 5 if args.quick else 20
    with tempfile.TemporaryDirectory(prefix="hermes-bench-") as tmp:
        workdir = Path(tmp)
        fake = FakeProcess()
        server = ServerProcess(
            workdir / "server",
            extra_env={
                "HERMES_PROVIDER": "openai",
                "HERMES_BASE_URL": fake.base_url,
                "HERMES_API_KEY": "k",
                "HERMES_MODEL": FAKE_MODEL,
                "HERMES_MAX_RETRIES": "0",
                "HERMES_LLM_TITLES": "0",
            },
        )
        try:
            server.start()
            client = Client(server.port)
            sdk = openai.OpenAI(base_url=fake.base_url, api_key="k", max_retries=0)
            results = {
                "throughput": bench_throughput(fake, client, sdk, max(3, runs // 4)),
                "added_ttft": bench_added_ttft(fake, client, sdk, runs),
                "concurrent_50": bench_concurrent(fake, server, 50),
                "checkpoint_save": bench_checkpoint_save(workdir, runs * 10),
                "targets": TARGETS,
            }
        finally:
            server.stop()
            fake.close()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
