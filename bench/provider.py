"""OpenAI-compatible provider figures, printed as JSON (medians).

    .venv/bin/python bench/provider.py [--quick]

The scripted OpenAI fake runs in a process of its own, so the CPU time this process spends
is the client's alone: building and sending the request, reading and parsing the stream.
Each figure is measured for `OpenAICompatProvider.stream` (`provider`) and, for comparison,
for the SDK's typed `chat.completions.create` with the same request, its chunks read to the
end (`sdk_typed`).

- `request_overhead`: requests as the agent sends them (system prompt, the default tools'
  schemas, a conversation of short questions and answers) with 2, 40 and 80 messages,
  answered with one word; CPU and wall milliseconds per request.
- `per_token`: a 2,000-token answer to a short request; CPU microseconds per token.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from collections.abc import Callable

# First: puts the repository on sys.path and sets HERMES_HOME for the imports below.
from common import ms

# isort: split
import openai
from streaming import FakeProcess, answer_of

from hermes_agent import AIAgent
from hermes_agent.providers.base import ChatRequest
from hermes_agent.providers.openai_compat import OpenAICompatProvider
from hermes_agent.settings import Settings
from tests.fakes.openai_server import FAKE_MODEL

HISTORY_SIZES = (2, 40, 80)
ANSWER = "Sure. Here is a short answer to your question, in a few words."

Paths = dict[str, Callable[[dict], Callable[[], object]]]
"""Name -> a function that, given a request body, returns a call that sends it and reads
the answer to its end."""


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median (CPU seconds, wall seconds) of `runs` calls of `fn`, after one warm-up call."""
    fn()
    cpu, wall = [], []
    for _ in range(runs):
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        fn()
        cpu.append(time.process_time() - cpu_start)
        wall.append(time.perf_counter() - wall_start)
    return statistics.median(cpu), statistics.median(wall)


def agent_request(fake: FakeProcess, size: int) -> dict:
    """The body the agent sends for a conversation of `size` messages, system prompt included."""
    history = []
    for n in range((size - 2) // 2):
        history += [
            {"role": "user", "content": f"question {n}"},
            {"role": "assistant", "content": ANSWER},
        ]
    with tempfile.TemporaryDirectory(prefix="hermes-bench-provider-") as workspace:
        provider = OpenAICompatProvider(fake.base_url, "k", max_retries=0)
        agent = AIAgent.from_settings(Settings(), provider=provider, workspace=workspace)
        agent.run_conversation(f"question {len(history) // 2}", conversation_history=history)
    sent = fake.last_request()
    assert len(sent["messages"]) == size, len(sent["messages"])
    return sent


def through_provider(provider: OpenAICompatProvider, body: dict) -> Callable[[], object]:
    request = ChatRequest(model=body["model"], messages=body["messages"], tools=body.get("tools"))
    return lambda: list(provider.stream(request, threading.Event()))


def through_sdk(sdk: openai.OpenAI, body: dict) -> Callable[[], object]:
    params = {k: body[k] for k in ("model", "messages", "tools", "stream_options") if k in body}
    return lambda: list(sdk.chat.completions.create(**params, stream=True))


def bench_request_overhead(fake: FakeProcess, paths: Paths, runs: int) -> dict:
    fake.reply("Fine.")
    figures = {}
    for size in HISTORY_SIZES:
        body = agent_request(fake, size)
        row = {"tools": len(body.get("tools") or []), "body_bytes": len(json.dumps(body))}
        for name, path in paths.items():
            cpu, wall = timed(path(body), runs)
            row[f"{name}_cpu_ms"] = ms(cpu)
            row[f"{name}_wall_ms"] = ms(wall)
        figures[f"{size}_messages"] = row
    return figures


def bench_per_token(fake: FakeProcess, paths: Paths, runs: int) -> dict:
    tokens = 2000
    fake.reply(answer_of(tokens))
    body = {"model": FAKE_MODEL, "messages": [{"role": "user", "content": "Go on."}]}
    figures: dict = {"tokens": tokens}
    for name, path in paths.items():
        cpu, wall = timed(path(body), runs)
        figures[f"{name}_cpu_us"] = round(cpu / tokens * 1e6, 1)
        figures[f"{name}_tokens_per_s"] = round(tokens / wall)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs")
    args = parser.parse_args()
    runs = 10 if args.quick else 50
    fake = FakeProcess()
    try:
        provider = OpenAICompatProvider(fake.base_url, "k", max_retries=0)
        sdk = openai.OpenAI(base_url=fake.base_url, api_key="k", max_retries=0)
        paths: Paths = {
            "provider": lambda body: through_provider(provider, body),
            "sdk_typed": lambda body: through_sdk(sdk, body),
        }
        results = {
            "request_overhead": bench_request_overhead(fake, paths, runs),
            "per_token": bench_per_token(fake, paths, max(3, runs // 5)),
        }
    finally:
        fake.close()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
