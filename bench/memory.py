"""Memory, skills and recall figures, printed as JSON (medians, in milliseconds).

    .venv/bin/python bench/memory.py [--quick]

- `system_prompt_ms`: taking a new conversation's snapshot with both memory files full and
  200 installed skills (what the first turn of a conversation pays; later turns reuse it).
- `session_search_ms`: the `session_search` tool over 100,000 messages in 1,000
  conversations, for words that occur in a few of them.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
from pathlib import Path

# First: puts the repository on sys.path and sets HERMES_HOME for the imports below.
from common import median_ms

# isort: split
from hermes_agent import runtime
from hermes_agent.errors import ToolError
from hermes_agent.memory import TARGETS, MemoryStore
from hermes_agent.skills import SkillLibrary
from hermes_agent.standing_context import StandingContext
from hermes_agent.tools.registry import ToolContext
from hermes_agent.tools.session_search import session_search
from hermes_state import SessionDB

TARGETS_MS = {"system_prompt_ms": 5.0, "session_search_ms": 50.0}
WORDS = ("harbour", "ferry", "tram", "roof", "slate", "garden", "invoice", "budget", "violin")


def bench_system_prompt(root: Path, runs: int) -> float:
    memory = MemoryStore(root / "memories")
    for target in TARGETS:
        for n in range(1000):
            try:
                memory.add(target, f"Note {n} about {random.choice(WORDS)} " * 4)
            except ToolError:  # full: the limit refused the next entry
                break
    skills = SkillLibrary(root / "skills")
    for n in range(200):
        skills.write(
            f"skill-{n:03d}",
            "SKILL.md",
            f"---\nname: skill-{n:03d}\ndescription: Do task {n} the tested way.\n"
            f"tags: [t{n % 7}]\n---\n" + "Step.\n" * 40,
        )
    standing = StandingContext(memory, skills)
    assert len(standing.snapshot()) > 10_000
    return median_ms(standing.snapshot, runs)


def bench_session_search(root: Path, runs: int) -> float:
    db = SessionDB(db_path=root / "state.db")
    rng = random.Random(7)
    filler = "the quick brown fox jumps over the lazy dog and keeps running far away "
    for s in range(1000):
        sid = f"s{s:04d}"
        db.create_session(sid, source=rng.choice(["web", "cli", "telegram"]))
        for m in range(100):
            word = "zanzibar" if (s % 97 == 0 and m == 50) else rng.choice(WORDS)
            db.append_message(sid, "user" if m % 2 == 0 else "assistant", f"{filler}{word}")
    runtime.state_db = lambda: db  # the tool reads the process's store
    ctx = ToolContext(workspace=root, approval=None, session_id="none")
    assert "zanzibar" in session_search({"query": "zanzibar"}, ctx)
    return median_ms(lambda: session_search({"query": "zanzibar"}, ctx), runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    runs = 5 if parser.parse_args().quick else 21
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        figures = {
            "system_prompt_ms": bench_system_prompt(root, runs),
            "session_search_ms": bench_session_search(root, runs),
        }
    print(json.dumps({"figures": figures, "targets": TARGETS_MS}, indent=2))


if __name__ == "__main__":
    main()
