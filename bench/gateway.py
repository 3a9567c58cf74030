"""Messaging gateway figures, printed as JSON.

    .venv/bin/python bench/gateway.py [--quick]

`hermes gateway` runs in a subprocess with Telegram enabled, polling the fake Bot API (real
HTTP on 127.0.0.1, served from this process) through python-telegram-bot; the scripted OpenAI
fake answers every request at once (no delay), from a process of its own. Every message is a
real turn: recorded in state.db, the inbox written durably, a typing action and the answer
sent.

- `throughput`: 10 chats, each sent 10 messages at once after a warm-up message; messages
  per second from the first message pushed to the last answer received by the fake. Then
  `throughput_longer_conversations`: 30 more messages to each of the same chats (histories
  of 22 to 82 messages, which every provider request carries).
- `added_latency`: a chat of its own, one message at a time: from the message being pushed
  to the answer's `sendMessage` reaching the fake, minus the time the very request the
  gateway sent takes when replayed with the `openai` SDK directly (streamed, to the last
  chunk); the median and p90 over the messages.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import openai

# First: puts the repository on sys.path and sets HERMES_HOME for the imports below.
from common import ms
from streaming import FakeProcess

from tests.fakes.openai_server import FAKE_MODEL
from tests.fakes.telegram_server import FakeTelegram
from tests.gateway_support import GatewayProcess

TARGETS = {"messages_per_s": 50.0, "added_latency_ms": 20.0}
CHATS = range(1000, 1010)
LATENCY_CHAT = 2000
ANSWER = "Sure. Here is a short answer to your question, in a few words."
TIMEOUT = 120.0


def answers(tg: FakeTelegram, chat: int) -> list:
    return [c for c in tg.calls("sendMessage") if c.params.get("chat_id") == chat]


def bench_throughput(tg: FakeTelegram, per_chat: int) -> dict:
    before = {chat: len(answers(tg, chat)) for chat in CHATS}
    start = time.monotonic()
    for n in range(per_chat):
        for chat in CHATS:
            tg.push_message(chat, chat, f"question {n}")
    tg.wait_until(lambda: all(len(answers(tg, c)) >= before[c] + per_chat for c in CHATS), TIMEOUT)
    last = max(answers(tg, chat)[-1].at for chat in CHATS)
    total = per_chat * len(CHATS)
    return {
        "chats": len(CHATS),
        "messages": total,
        "seconds": round(last - start, 3),
        "messages_per_s": round(total / (last - start), 1),
    }


def bench_added_latency(tg: FakeTelegram, fake: FakeProcess, runs: int) -> dict:
    sdk = openai.OpenAI(base_url=fake.base_url, api_key="k", max_retries=0)
    end_to_end, added = [], []
    for n in range(runs):
        count = len(answers(tg, LATENCY_CHAT))
        pushed = time.monotonic()
        tg.push_message(LATENCY_CHAT, LATENCY_CHAT, f"latency probe {n}")
        tg.wait_until(lambda: len(answers(tg, LATENCY_CHAT)) > count, TIMEOUT)  # noqa: B023
        took = answers(tg, LATENCY_CHAT)[count].at - pushed
        end_to_end.append(took)
        added.append(took - replay(sdk, fake.last_request()))
    return {
        "runs": runs,
        "end_to_end_ms": ms(statistics.median(end_to_end)),
        "added_latency_ms": ms(statistics.median(added)),
        "added_latency_p90_ms": ms(sorted(added)[int(0.9 * (runs - 1))]),
    }


def replay(sdk: openai.OpenAI, request: dict) -> float:
    """Seconds the provider request takes with the SDK directly, streamed to the end."""
    started = time.monotonic()
    stream = sdk.chat.completions.create(
        model=request.get("model", FAKE_MODEL),
        messages=request["messages"],
        tools=request.get("tools") or openai.NOT_GIVEN,
        stream=True,
    )
    for _chunk in stream:
        pass
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer messages")
    args = parser.parse_args()
    per_chat, runs = (5, 10) if args.quick else (10, 30)
    with tempfile.TemporaryDirectory(prefix="hermes-bench-gateway-") as tmp, FakeTelegram() as tg:
        fake = FakeProcess()
        fake.reply(ANSWER)
        gateway = GatewayProcess(
            Path(tmp),
            fake,
            tg,
            HERMES_TELEGRAM_ALLOWED_USERS=",".join(str(c) for c in [*CHATS, LATENCY_CHAT]),
            HERMES_TELEGRAM_POLL_TIMEOUT="25",
        )
        try:
            gateway.start()
            bench_throughput(tg, 1)  # warm-up: sessions, agents, connections
            results = {
                "throughput": bench_throughput(tg, per_chat),
                "throughput_longer_conversations": bench_throughput(tg, 3 * per_chat),
                "added_latency": bench_added_latency(tg, fake, runs),
                "targets": TARGETS,
            }
        finally:
            gateway.stop()
            fake.close()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
