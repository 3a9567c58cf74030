"""`hermes chat` and `hermes sessions`: one-shot turns recorded in state.db, read back."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from hermes_state import SessionDB
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.support import REPO_ROOT, SECRET_ENV_PREFIXES


@pytest.fixture
def fake():
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def home(tmp_path):
    (tmp_path / "work").mkdir()
    return tmp_path / "home"


def _env(home, fake=None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(SECRET_ENV_PREFIXES)}
    env.update(HERMES_HOME=str(home), PYTHONPATH=str(REPO_ROOT))
    if fake is not None:
        env.update(
            HERMES_PROVIDER="openai",
            HERMES_BASE_URL=fake.base_url,
            HERMES_API_KEY="test-key",
            HERMES_MODEL="fake-model",
            HERMES_MAX_RETRIES="0",
        )
    return env


def hermes(home, *args, fake=None, stdin=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hermes_cli", *args],
        cwd=home.parent / "work",
        env=_env(home, fake),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _db(home) -> SessionDB:
    return SessionDB(db_path=home / "state.db")


def test_chat_streams_the_answer_and_records_the_turn_as_a_cli_session(home, fake):
    fake.script(Reply.text("Hello from the fake.", usage=(11, 4)))
    result = hermes(home, "chat", "Plan my week", fake=fake)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello from the fake.\n"
    rows = _db(home).list_sessions_rich(limit=10)
    assert len(rows) == 1
    row = rows[0]
    assert row["source"] == "cli"
    assert row["title"] == "Plan my week"
    assert row["id"] in result.stderr
    messages = _db(home).get_messages_as_conversation(row["id"])
    assert [(m["role"], m["content"]) for m in messages] == [
        ("user", "Plan my week"),
        ("assistant", "Hello from the fake."),
    ]
    stored = _db(home).get_session(row["id"])
    assert (stored["input_tokens"], stored["output_tokens"]) == (11, 4)
    assert stored["end_reason"] == "cli_exit"


def test_chat_continues_a_session_with_its_history(home, fake):
    fake.script(Reply.text("First answer."), Reply.text("Second answer."))
    first = hermes(home, "chat", "First question", fake=fake)
    session_id = _db(home).list_sessions_rich(limit=1)[0]["id"]
    second = hermes(home, "chat", "--session", session_id[:12], "Follow-up", fake=fake)
    assert (first.returncode, second.returncode) == (0, 0), second.stderr
    sent = [(m["role"], m["content"]) for m in fake.requests[1]["messages"][1:]]
    assert sent == [
        ("user", "First question"),
        ("assistant", "First answer."),
        ("user", "Follow-up"),
    ]
    assert len(_db(home).get_messages(session_id)) == 4


def test_chat_reads_the_message_from_standard_input(home, fake):
    fake.script(Reply.text("Got it."))
    result = hermes(home, "chat", "-", fake=fake, stdin="a long message\nover two lines\n")
    assert result.returncode == 0, result.stderr
    assert fake.requests[0]["messages"][-1]["content"] == "a long message\nover two lines\n"


def test_a_provider_failure_exits_non_zero_and_keeps_the_users_message(home, fake):
    fake.script(Reply.error(500, "The server had an error while processing your request"))
    result = hermes(home, "chat", "Are you there?", fake=fake)
    assert result.returncode == 1
    assert "server had an error" in result.stderr
    session_id = _db(home).list_sessions_rich(limit=1)[0]["id"]
    assert [m["content"] for m in _db(home).get_messages(session_id)] == ["Are you there?"]


def test_an_unknown_session_to_continue_is_a_clear_error(home, fake):
    result = hermes(home, "chat", "--session", "nope", "hi", fake=fake)
    assert result.returncode == 1
    assert "no session matches 'nope'" in result.stderr
    assert fake.requests == []


def test_sessions_commands_list_show_search_and_export(home, fake, tmp_path):
    fake.script(Reply.text("Photosynthesis turns light into sugar."))
    hermes(home, "chat", "Explain photosynthesis", fake=fake)
    session_id = _db(home).list_sessions_rich(limit=1)[0]["id"]

    listing = hermes(home, "sessions", "list")
    assert session_id in listing.stdout and "Explain photosynthesis" in listing.stdout

    shown = hermes(home, "sessions", "show", session_id)
    assert "[assistant]" in shown.stdout and "light into sugar" in shown.stdout

    found = hermes(home, "sessions", "search", "sugar")
    assert session_id in found.stdout and "sugar" in found.stdout

    target = tmp_path / "out.json"
    exported = hermes(home, "sessions", "export", session_id, "-o", str(target))
    assert exported.returncode == 0
    data = json.loads(target.read_text())
    assert [m["role"] for m in data["messages"]] == ["user", "assistant"]

    markdown = hermes(home, "sessions", "export", session_id, "--format", "md")
    assert "# Explain photosynthesis" in markdown.stdout
    assert "## Assistant" in markdown.stdout

    missing = hermes(home, "sessions", "show", "does_not_exist")
    assert missing.returncode == 1 and "no session matches" in missing.stderr


def test_chat_answers_offline_with_the_bundled_model_when_nothing_is_configured(home):
    result = hermes(home, "chat", "hello")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    row = _db(home).list_sessions_rich(limit=1)[0]
    assert row["model"] == "smollm2-135m"


def test_chat_attach_sends_the_files_to_the_model(home, fake):
    work = home.parent / "work"
    (work / "notes.md").write_text("# Plan\n- buy rope\n", encoding="utf-8")
    fake.script(Reply.text("You plan to buy rope."))

    result = hermes(home, "chat", "--attach", "notes.md", "What is the plan?", fake=fake)

    assert result.returncode == 0, result.stderr
    parts = fake.requests[-1]["messages"][-1]["content"]
    assert parts[0] == {"type": "text", "text": "What is the plan?"}
    assert parts[1]["text"].startswith("[Attached file notes.md (attachment:")
    assert "- buy rope" in parts[1]["text"]


def test_chat_attach_of_a_missing_file_is_a_clear_error_and_sends_nothing(home, fake):
    before = len(fake.requests)
    result = hermes(home, "chat", "--attach", "nowhere.png", "Look", fake=fake)
    assert result.returncode == 1
    assert "cannot read nowhere.png" in result.stderr
    assert len(fake.requests) == before
