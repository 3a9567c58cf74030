"""`hermes tui` end to end, in a real terminal: tmux runs it against the scripted provider,
keys are typed with send-keys, and the screen is read with capture-pane."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from hermes_state import SessionDB
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.test_tui_client import tui_env

DEADLINE = 20
SLOW_ANSWER = " ".join(f"word{i}" for i in range(300))


class Terminal:
    """A tmux server of its own (its own socket), one window per `hermes tui` run."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.socket = f"hermes-tui-{uuid.uuid4().hex[:8]}"
        self.root, self.env = root, env
        self.window = ""
        # The pane stays after the program exits, so its last words can be read. bash runs
        # the command: like an interactive shell, it goes on after a Ctrl+C its child handled.
        self.config = root.parent / "tmux.conf"
        self.config.write_text("set -g remain-on-exit on\nset -g default-shell /bin/bash\n")

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, "-f", str(self.config), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=DEADLINE,
            check=False,
        )
        assert done.returncode == 0, f"tmux {' '.join(args[:1])} failed: {done.stderr}"
        return done.stdout

    def start(self, name: str, *args: str) -> None:
        """Run `hermes tui ARGS` in a new 120x40 window; its exit status is printed after it."""
        command = shlex.join([sys.executable, "-m", "hermes_cli", "tui", *args])
        self.window = name
        self.tmux(
            "new-session", "-d", "-s", name, "-x", "120", "-y", "40", "-c", str(self.root),
            f'{command}; echo "[exited $?]"',
        )  # fmt: skip

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-J", "-S", "-200", "-t", self.window)

    def wait_for(self, text: str) -> str:
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            shown = self.screen()
            if text in shown:
                return shown
            time.sleep(0.1)
        pytest.fail(f"{text!r} did not appear within {DEADLINE}s; the screen:\n{self.screen()}")

    def wait_for_prompt(self) -> None:
        """Wait until the input prompt is back (the last line is the empty prompt)."""
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            if self.screen().rstrip().splitlines()[-1].strip() == "❯":
                return
            time.sleep(0.1)
        pytest.fail(f"the prompt did not come back within {DEADLINE}s:\n{self.screen()}")

    def exit_status(self) -> int:
        """Wait for the program to exit; its status."""
        shown = self.wait_for("[exited ")
        return int(shown.split("[exited ", 1)[1].split("]", 1)[0])

    def type(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.window, *keys)

    def kill(self) -> None:
        subprocess.run(
            ["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10, check=False
        )


@pytest.fixture
def fake():
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def terminal(tmp_path, fake):
    if shutil.which("tmux") is None:
        pytest.fail("tmux is not installed: run `make test`, which installs it")
    env = {**tui_env(tmp_path / "home", fake), "TERM": "xterm-256color"}
    for fixed_size in ("COLUMNS", "LINES"):  # set by some runners; the window has its own
        env.pop(fixed_size, None)
    (tmp_path / "work").mkdir()
    term = Terminal(tmp_path / "work", env)
    try:
        yield term
    finally:
        term.kill()


def tui_sessions(tmp_path: Path) -> list[dict]:
    return SessionDB(db_path=tmp_path / "home" / "state.db").list_sessions_rich(source="tui")


def test_a_conversation_is_listed_left_resumed_by_title_and_continued(terminal, fake, tmp_path):
    fake.script(
        Reply.text("Pack light and bring a **raincoat**.", delay=0.02),
        Reply.text("Take the tram to Belém.", delay=0.02),
    )
    terminal.start("first")
    terminal.wait_for("/help for commands")
    terminal.type("What should I pack for Lisbon?", "Enter")
    terminal.wait_for("Pack light and bring a raincoat.")
    terminal.wait_for_prompt()  # the turn is over: the session has its automatic title

    [row] = tui_sessions(tmp_path)
    terminal.type("/sessions", "Enter")
    terminal.wait_for(f"{row['id']}  {row['title']} (this session)")
    terminal.type("/quit", "Enter")
    assert terminal.exit_status() == 0

    terminal.start("second")
    terminal.wait_for("/help for commands")
    terminal.type(f"/resume {row['title']}", "Enter")
    terminal.wait_for(f"resumed “{row['title']}”")
    terminal.type("How do I get around?", "Enter")
    shown = terminal.wait_for("Take the tram to Belém.")
    assert "Pack light and bring a raincoat." in shown  # the recap of the resumed session
    terminal.type("/quit", "Enter")
    assert terminal.exit_status() == 0

    assert [s["id"] for s in tui_sessions(tmp_path)] == [row["id"]]
    db = SessionDB(db_path=tmp_path / "home" / "state.db")
    assert [(m["role"], m["content"]) for m in db.get_messages_as_conversation(row["id"])] == [
        ("user", "What should I pack for Lisbon?"),
        ("assistant", "Pack light and bring a **raincoat**."),
        ("user", "How do I get around?"),
        ("assistant", "Take the tram to Belém."),
    ]


def test_branch_goes_on_in_a_copy_and_resume_goes_back_to_the_original(terminal, fake, tmp_path):
    fake.script(
        Reply.text("Alfama first.", delay=0.01),
        Reply.text("Then Sintra.", delay=0.01),
        Reply.text("Then Belém.", delay=0.01),
    )
    terminal.start("branching")
    terminal.wait_for("/help for commands")
    terminal.type("/branch", "Enter")
    terminal.wait_for("Nothing to branch yet")
    terminal.type("/title Lisbon", "Enter")
    terminal.type("Plan day one", "Enter")
    terminal.wait_for("Alfama first.")
    terminal.wait_for_prompt()

    terminal.type("/branch", "Enter")
    terminal.wait_for("Branched: 2 messages copied into “Lisbon (branch)”.")
    terminal.type("Day two by train?", "Enter")
    terminal.wait_for("Then Sintra.")
    terminal.wait_for_prompt()
    terminal.type("/resume Lisbon", "Enter")
    terminal.wait_for("resumed “Lisbon”")
    terminal.type("Day two on foot?", "Enter")
    terminal.wait_for("Then Belém.")
    terminal.type("/quit", "Enter")
    assert terminal.exit_status() == 0

    db = SessionDB(db_path=tmp_path / "home" / "state.db")
    talks = {
        row["title"]: [m["content"] for m in db.get_messages_as_conversation(row["id"])]
        for row in tui_sessions(tmp_path)
    }
    assert talks == {
        "Lisbon": ["Plan day one", "Alfama first.", "Day two on foot?", "Then Belém."],
        "Lisbon (branch)": ["Plan day one", "Alfama first.", "Day two by train?", "Then Sintra."],
    }


def test_ctrl_c_interrupts_a_slow_reply_and_the_session_goes_on(terminal, fake, tmp_path):
    fake.script(Reply.text(SLOW_ANSWER, delay=0.05), Reply.text("Short answer.", delay=0.01))
    terminal.start("slow")
    terminal.wait_for("/help for commands")
    terminal.type("Tell me a long story", "Enter")
    terminal.wait_for("word5 ")

    terminal.type("C-c")

    shown = terminal.wait_for("interrupted")
    assert "word299" not in shown
    terminal.type("Shorter, please", "Enter")
    terminal.wait_for("Short answer.")
    terminal.wait_for_prompt()  # a Ctrl+D typed while the answer ends never reaches the prompt
    terminal.type("C-d")
    assert terminal.exit_status() == 0
    [row] = tui_sessions(tmp_path)
    db = SessionDB(db_path=tmp_path / "home" / "state.db")
    assert [(m["role"], m["content"]) for m in db.get_messages_as_conversation(row["id"])] == [
        ("user", "Tell me a long story"),
        ("user", "Shorter, please"),
        ("assistant", "Short answer."),
    ]


def test_attach_in_the_terminal_sends_the_file_with_the_next_message(terminal, fake, tmp_path):
    notes = tmp_path / "trip-notes.txt"
    notes.write_text("Ferry leaves at 07:40 from Cais do Sodré.\n", encoding="utf-8")
    fake.script(Reply.text("The ferry leaves at 07:40.", delay=0.01))
    terminal.start("attach")
    terminal.wait_for("/help for commands")

    terminal.type(f"/attach {notes}", "Enter")
    terminal.wait_for("Attached trip-notes.txt")
    terminal.type("When does the ferry leave?", "Enter")
    terminal.wait_for("The ferry leaves at 07:40.")
    terminal.type("/quit", "Enter")
    assert terminal.exit_status() == 0

    parts = fake.requests[-1]["messages"][-1]["content"]
    assert parts[0] == {"type": "text", "text": "When does the ferry leave?"}
    assert "Ferry leaves at 07:40 from Cais do Sodré." in parts[1]["text"]


def test_a_skill_is_invoked_by_its_slash_command_in_the_terminal(terminal, fake, tmp_path):
    skill = tmp_path / "home" / "skills" / "haiku"
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text(
        "---\nname: haiku\ndescription: Answer in a haiku.\n---\n5-7-5.\n"
    )
    fake.script(Reply.text("Frogs leap, ponds ripple", delay=0.01))
    terminal.start("skill")
    terminal.wait_for("/help for commands")

    terminal.type("/haiku about frogs", "Enter")
    terminal.wait_for("Frogs leap, ponds ripple")
    terminal.type("/quit", "Enter")
    assert terminal.exit_status() == 0

    parts = fake.requests[-1]["messages"][-1]["content"]
    assert parts[0]["text"] == "/haiku about frogs"
    assert "5-7-5." in parts[1]["text"]
