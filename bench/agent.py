"""Agent-side storage figures, printed as JSON (medians, in milliseconds).

    .venv/bin/python bench/agent.py [--quick]

- `append_message`: one message appended to a session (one durable write transaction).
- `search_messages`: full-text queries over 100,000 messages in 1,000 sessions.
- `list_sessions_rich`: the sidebar page (limit=50) over 10,000 sessions.
- `agent_turn`: the agent's own cost per turn (turn time minus provider time), with and
  without a session store, against the scripted provider with no delay.

Each figure is one `bench_*` function returning a dict; `main()` runs those in `BENCHES`, so a
new figure is one more function and one more entry.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

# First: puts the repository on sys.path and sets HERMES_HOME for the imports below.
from common import median_ms, ms

# isort: split
from hermes_state import SessionDB

TARGETS_MS = {
    "append_message": 1.0,
    "search_messages": 50.0,
    "list_sessions_rich": 20.0,
    "agent_overhead": 5.0,
}
CJK_SENTENCE = "我们讨论了数据库索引和全文搜索的性能问题"


@contextmanager
def fresh_db(name: str) -> Iterator[SessionDB]:
    """A new database in a temp directory that is removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=f"hermes-bench-{name}-") as directory:
        db = SessionDB(db_path=Path(directory) / "state.db")
        try:
            yield db
        finally:
            db.close()


def vocabulary(rng: random.Random, size: int = 5000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = {"".join(rng.choices(letters, k=rng.randint(3, 10))) for _ in range(size * 2)}
    return sorted(words)[:size]


class Corpus:
    """Sentences whose word frequencies fall off like natural text (Zipf), reproducibly."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.words = vocabulary(self.rng)
        self.weights = [1 / (rank + 1) for rank in range(len(self.words))]

    def sentence(self, n_words: int = 30) -> str:
        return " ".join(self.rng.choices(self.words, self.weights, k=n_words))


def bench_append(messages: int = 2000) -> dict:
    """Median cost of `append_message` to one growing session."""
    corpus = Corpus()
    texts = [corpus.sentence() for _ in range(messages)]
    times = []
    with fresh_db("append") as db:
        db.create_session("bench", source="cli")
        for i, text in enumerate(texts):
            start = time.perf_counter()
            db.append_message("bench", role="user" if i % 2 == 0 else "assistant", content=text)
            times.append(time.perf_counter() - start)
    times.sort()
    return {
        "median_ms": ms(statistics.median(times)),
        "p95_ms": ms(times[int(len(times) * 0.95)]),
        "messages": messages,
        "target_ms": TARGETS_MS["append_message"],
    }


def populate_messages(db: SessionDB, sessions: int, per_session: int, corpus: Corpus) -> None:
    for s in range(sessions):
        sid = f"s{s:05d}"
        db.create_session(sid, source="cli" if s % 3 else "web")
        messages = []
        for i in range(per_session):
            text = corpus.sentence()
            if i % 50 == 7:
                text = f"{text} {CJK_SENTENCE}"
            messages.append({"role": "user" if i % 2 == 0 else "assistant", "content": text})
        db.replace_messages(sid, messages)


def bench_search(sessions: int = 1000, per_session: int = 100, runs: int = 21) -> dict:
    """Median `search_messages(query)` (20 results with context) for common to rare terms."""
    corpus = Corpus()
    words = corpus.words
    queries = {
        "common_word": words[3],
        "mid_word": words[200],
        "rare_word": words[4000],
        "two_words": f"{words[50]} {words[120]}",
        "prefix": words[300][:3] + "*",
        "phrase": f'"{words[0]} {words[1]}"',
        "cjk_trigram": "全文搜索",
        "cjk_short": "索引",
        "cjk_short_absent": "龍馬",
    }
    with fresh_db("search") as db:
        start = time.perf_counter()
        populate_messages(db, sessions, per_session, corpus)
        populate_s = time.perf_counter() - start
        figures = {
            name: median_ms(lambda q=query: db.search_messages(q), runs)
            for name, query in queries.items()
        }
    return {
        "median_ms": round(statistics.median(figures.values()), 3),
        "worst_query_ms": max(figures.values()),
        "by_query_ms": figures,
        "messages": sessions * per_session,
        "populate_s": round(populate_s, 1),
        "target_ms": TARGETS_MS["search_messages"],
    }


def populate_sessions(db: SessionDB, sessions: int, corpus: Corpus) -> None:
    """Sessions of four messages; every tenth is a compressed conversation with a tip."""
    for s in range(sessions):
        sid = f"l{s:05d}"
        db.create_session(sid, source="tui" if s % 2 else "web")
        db.replace_messages(
            sid,
            [
                {"role": "user" if i % 2 == 0 else "assistant", "content": corpus.sentence(12)}
                for i in range(4)
            ],
        )
        if s % 10 == 0:
            db.end_session(sid, "compression")
            tip = f"{sid}_tip"
            db.create_session(tip, source="tui", parent_session_id=sid)
            db.append_message(tip, role="user", content=corpus.sentence(12))


def bench_list(sessions: int = 10000, runs: int = 51) -> dict:
    """Median `list_sessions_rich(limit=50)`: previews, last activity, projected tips."""
    with fresh_db("list") as db:
        populate_sessions(db, sessions, Corpus())
        figures = {
            "first_page_ms": median_ms(lambda: db.list_sessions_rich(limit=50), runs),
            "deep_page_ms": median_ms(
                lambda: db.list_sessions_rich(limit=50, offset=sessions // 2), runs
            ),
            "by_last_active_ms": median_ms(
                lambda: db.list_sessions_rich(limit=50, order_by_last_active=True),
                max(5, runs // 5),
            ),
        }
    return {
        "median_ms": figures["first_page_ms"],
        **figures,
        "sessions": sessions,
        "target_ms": TARGETS_MS["list_sessions_rich"],
    }


def bench_turn(turns: int = 60, tokens: int = 40) -> dict:
    """Agent overhead per turn: a turn's wall time minus the provider's own streaming time.

    The provider is the real OpenAI-compatible client against the scripted server with no
    delay, so what remains is the loop, callbacks and (with a store) the recording.
    """
    import threading

    from hermes_agent import AIAgent
    from hermes_agent.providers.base import ChatRequest
    from hermes_agent.providers.openai_compat import OpenAICompatProvider
    from tests.fakes.openai_server import FakeOpenAI, Reply

    answer = " ".join(["word"] * tokens)
    with FakeOpenAI(default=Reply.text(answer)) as fake:
        provider = OpenAICompatProvider(fake.base_url, "bench", max_retries=0)
        request = ChatRequest(model="fake-model", messages=[{"role": "user", "content": "hi"}])
        provider_ms = median_ms(lambda: list(provider.stream(request, threading.Event())), turns)
        figures = {"provider_ms": provider_ms, "tokens_per_turn": tokens}
        with tempfile.TemporaryDirectory(prefix="hermes-bench-turn-") as directory:
            for label, db in (
                ("no_store", None),
                ("with_store", SessionDB(Path(directory) / "s.db")),
            ):
                agent = AIAgent(provider, model="fake-model", session_db=db, workspace=directory)
                turn_ms = median_ms(lambda a=agent: a.run_conversation("hi"), turns)
                overhead = round(turn_ms - provider_ms, 3)
                figures[f"turn_{label}_ms"] = turn_ms
                figures[f"overhead_{label}_ms"] = overhead
                figures[f"overhead_per_token_{label}_ms"] = round(overhead / tokens, 4)
    return {**figures, "target_ms": TARGETS_MS["agent_overhead"]}


BENCHES: tuple[tuple[str, Callable[..., dict], dict], ...] = (
    ("append_message", bench_append, {"messages": 200}),
    ("search_messages", bench_search, {"sessions": 50, "per_session": 100, "runs": 5}),
    ("list_sessions_rich", bench_list, {"sessions": 500, "runs": 11}),
    ("agent_turn", bench_turn, {"turns": 10}),
)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args(argv)
    results = {}
    for name, bench, quick_sizes in BENCHES:
        results[name] = bench(**quick_sizes) if args.quick else bench()
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
