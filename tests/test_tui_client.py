"""`hermes tui`'s protocol client against the real gateway subprocess (scripted provider),
and its slash commands: parsed as pure logic, and dispatched headless against the gateway."""

from __future__ import annotations

import io
import os
import signal
import sys
import threading
from pathlib import Path

import pytest
from rich.console import Console

from hermes_cli.tui import commands
from hermes_cli.tui.app import TuiApp
from hermes_cli.tui.client import Event, GatewayClient, GatewayGone, RpcError
from hermes_cli.tui.stream import AnswerView, split_finished
from hermes_state import SessionDB
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.support import REPO_ROOT, SECRET_ENV_PREFIXES, fake_provider_env

TIMEOUT = 15
SLOW_ANSWER = " ".join(f"word{i}" for i in range(300))


@pytest.fixture
def fake():
    with FakeOpenAI() as server:
        yield server


def tui_env(home: Path, fake: FakeOpenAI) -> dict[str, str]:
    """This environment less its secrets and any tmux it runs in, set up for the fake."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(SECRET_ENV_PREFIXES) and k not in ("TMUX", "TMUX_PANE")
    }
    env.update(fake_provider_env(fake), HERMES_HOME=str(home), PYTHONPATH=str(REPO_ROOT))
    return env


@pytest.fixture
def client(tmp_path, fake):
    (tmp_path / "work").mkdir()
    started = GatewayClient(
        env=tui_env(tmp_path / "home", fake),
        cwd=tmp_path / "work",
        log_path=tmp_path / "gateway.log",
    )
    yield started.start()
    started.close()


def until(client: GatewayClient, kind: str) -> list[Event]:
    """The events up to and including the next one of `kind`."""
    seen: list[Event] = []
    while not seen or seen[-1].type != kind:
        event = client.next_event(TIMEOUT)
        assert event is not None, f"no {kind} within {TIMEOUT}s; got {seen}"
        seen.append(event)
    return seen


def stored(tmp_path: Path) -> SessionDB:
    return SessionDB(db_path=tmp_path / "home" / "state.db")


# -- the protocol client ------------------------------------------------------------------------


def test_requests_get_their_results_and_failures_come_back_as_rpc_errors(client):
    ready = client.next_event(TIMEOUT)
    assert (ready.type, ready.session_id, ready.payload["protocol"]) == ("gateway.ready", None, 1)

    created = client.call("session.create", {"cols": 100}, TIMEOUT)

    assert len(created["session_id"]) == 8
    assert created["info"]["model"] == "fake-model"
    with pytest.raises(RpcError) as bad_params:
        client.call("session.create", {"cols": "wide"}, TIMEOUT)
    assert bad_params.value.code == -32602
    with pytest.raises(RpcError) as unknown:
        client.call("session.usage", {"session_id": "00000000"}, TIMEOUT)
    assert unknown.value.code == 4001
    assert client.call("session.usage", {"session_id": created["session_id"]})["calls"] == 0


def test_replies_reach_the_thread_that_asked_whatever_their_order(client):
    sid = client.call("session.create", {}, TIMEOUT)["session_id"]
    results: dict[int, object] = {}

    def ask(n: int) -> None:
        title = f"Title {n}"
        results[n] = client.call("session.title", {"session_id": sid, "title": title}, TIMEOUT)

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)

    assert results == {n: {"title": f"Title {n}", "pending": True} for n in range(8)}


def test_a_turns_events_arrive_in_order_and_the_turn_is_recorded(client, fake, tmp_path):
    fake.script(Reply.text("Monday: rest.\n\nTuesday: **work**."))
    sid = client.call("session.create", {}, TIMEOUT)["session_id"]
    until(client, "session.info")

    assert client.call("prompt.submit", {"session_id": sid, "text": "Plan my week"}) == {
        "status": "streaming"
    }
    events = until(client, "message.complete")

    assert events[0].type == "message.start"
    assert {e.session_id for e in events} == {sid}
    deltas = "".join(e.payload["text"] for e in events if e.type == "message.delta")
    assert deltas == events[-1].payload["text"] == "Monday: rest.\n\nTuesday: **work**."
    key = client.call("session.list", {"source": "tui"})["sessions"][0]["id"]
    messages = stored(tmp_path).get_messages_as_conversation(key)
    assert [m["content"] for m in messages] == [
        "Plan my week",
        "Monday: rest.\n\nTuesday: **work**.",
    ]


def test_a_killed_gateway_fails_the_waiting_request_and_ends_the_events(client, fake):
    fake.script(Reply.text(SLOW_ANSWER, delay=0.05))
    sid = client.call("session.create", {}, TIMEOUT)["session_id"]
    client.call("prompt.submit", {"session_id": sid, "text": "Tell me a story"})
    until(client, "message.delta")
    client.proc.send_signal(signal.SIGSTOP)  # the request below stays unanswered
    waiting = client.request("session.usage", {"session_id": sid})

    client.proc.send_signal(signal.SIGKILL)

    with pytest.raises(GatewayGone, match="killed by signal 9"):
        waiting.result(TIMEOUT)
    with pytest.raises(GatewayGone):
        while client.next_event(TIMEOUT) is not None:
            pass
    with pytest.raises(GatewayGone):
        client.next_event(TIMEOUT)  # and so does every later call
    with pytest.raises(GatewayGone):
        client.call("commands.catalog", {}, TIMEOUT)
    assert client.gone


def test_a_gateway_that_dies_at_start_reports_its_status_and_the_end_of_its_log(tmp_path):
    dying = GatewayClient(
        [
            sys.executable,
            "-c",
            "import sys; sys.stderr.write('boom: bad settings\\n'); sys.exit(3)",
        ],
        log_path=tmp_path / "gateway.log",
    ).start()

    with pytest.raises(GatewayGone) as gone:
        dying.call("session.create", {}, TIMEOUT)

    assert "exited with status 3" in str(gone.value)
    assert "boom: bad settings" in str(gone.value)
    assert dying.close() == 3


def test_close_ends_the_gateway_and_its_open_sessions(client, fake, tmp_path):
    fake.script(Reply.text("Hi."))
    sid = client.call("session.create", {}, TIMEOUT)["session_id"]
    client.call("prompt.submit", {"session_id": sid, "text": "Hello"})
    until(client, "message.complete")
    key = client.call("session.list", {})["sessions"][0]["id"]

    assert client.close() == 0

    assert client.proc.poll() == 0
    assert stored(tmp_path).get_session(key)["end_reason"] == "tui_shutdown"


# -- the streamed answer -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "finished"),
    [
        ("Para one.\n\nPara two is str", "Para one.\n\n"),
        ("# Title\nThe body", "# Title\n"),
        ("- one\n- two\n", ""),  # a list goes on until a blank line
        ("```py\nx = 1\n\ny = 2\n", ""),  # a blank line inside a code block ends nothing
        ("```py\nx = 1\n\ny = 2\n```\nAfter", "```py\nx = 1\n\ny = 2\n```\n"),
        ("No line break yet", ""),
    ],
)
def test_an_answer_is_cut_after_its_last_finished_markdown_block(text, finished):
    assert split_finished(text) == (finished, text[len(finished) :])


def test_a_streamed_answer_prints_each_block_once_rendered_and_spaced():
    answer = "# Plan\n\nMonday: **rest**.\n\n- one\n- two\n\nTuesday: work."
    console = Console(file=io.StringIO(), width=60, force_terminal=False)
    view = AnswerView(console)
    for piece in answer.split(" "):  # pieces as a provider streams them
        view.delta(piece + " ")
    view.finish({"status": "complete", "text": answer})

    lines = [line.rstrip() for line in console.file.getvalue().splitlines()]
    assert [line.strip() for line in lines] == [
        "Plan", "", "Monday: rest.", "", "• one", "• two", "", "Tuesday: work."
    ]  # fmt: skip


# -- slash commands: parsing --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "parsed"),
    [
        ("/resume  Trip to Lisbon ", ("/resume", "Trip to Lisbon")),
        ("/NEW", ("/new", "")),
        ("  /title   A  title", ("/title", "A  title")),
        ("/usr/bin is where?", None),
        ("plain text", None),
        ("/", None),
        ("/2nd thoughts", None),
    ],
)
def test_a_command_line_is_told_from_a_message(line, parsed):
    assert commands.parse(line) == parsed


def test_an_unknown_command_gets_the_closest_known_one():
    assert commands.unknown_message("/reusme") == (
        "Unknown command /reusme. Did you mean /resume? /help lists the commands."
    )
    assert commands.unknown_message("/xyzzy") == "Unknown command /xyzzy. /help lists the commands."


def test_help_prefers_the_gateways_description_and_shows_arguments():
    entries = dict(commands.help_entries({"/resume": "From the gateway"}))
    assert entries["/resume [id|title]"] == "From the gateway"
    assert entries["/retry"] == commands.COMMANDS["/retry"].description
    assert "/quit" in entries


# -- slash commands: dispatched against the gateway ---------------------------------------------


@pytest.fixture
def app(client):
    """A headless app (no prompt) on the real gateway, printing to a string."""
    console = Console(file=io.StringIO(), width=100, force_terminal=False)
    tui = TuiApp(client, console, reader=None)
    tui.new_session()
    return tui


def printed(app: TuiApp) -> str:
    return app.console.file.getvalue()


def test_retry_drops_the_last_exchange_and_sends_its_text_again(app, fake, tmp_path):
    fake.script(Reply.text("First try."), Reply.text("Second try."))
    app.send("Name a colour")

    assert commands.dispatch(app, "/retry") is True

    assert "Second try." in printed(app)
    assert fake.requests[-1]["messages"][-1]["content"] == "Name a colour"
    messages = stored(tmp_path).get_messages_as_conversation(app.key)
    assert [m["content"] for m in messages] == ["Name a colour", "Second try."]


def test_title_and_sessions_show_the_session_as_stored(app, fake, tmp_path):
    fake.script(Reply.text("Pack light."))
    commands.dispatch(app, "/title Trip to Lisbon")
    app.send("What should I pack?")

    commands.dispatch(app, "/sessions")

    assert stored(tmp_path).get_session(app.key)["title"] == "Trip to Lisbon"
    table = printed(app)
    assert "Title set: Trip to Lisbon (set with the first message)" in table
    row = next(line for line in table.splitlines() if line.startswith(app.key))
    assert "Trip to Lisbon (this session)" in row
    assert row.split()[-3:-2] == ["2"]  # messages, then the date and time of last activity


def test_undo_and_retry_with_nothing_to_undo_say_so_and_send_nothing(app, fake):
    commands.dispatch(app, "/undo")
    commands.dispatch(app, "/retry")

    assert printed(app).count("Nothing to undo.") == 1
    assert printed(app).count("Nothing to retry.") == 1
    assert fake.requests == []


def test_resume_without_an_argument_lists_the_recent_sessions_to_choose_from(app, fake):
    fake.script(Reply.text("Noted."))
    app.send("Plan the Lisbon trip")

    assert commands.dispatch(app, "/resume") is True

    shown = printed(app)
    assert "Plan the Lisbon trip" in shown
    assert "Continue one with /resume <id|title>." in shown
    assert "Usage:" not in shown


def test_resuming_marks_a_turn_that_never_got_an_answer(app, fake, tmp_path):
    with stored(tmp_path) as db:
        db.create_session("cut01", source="telegram")
        for role, text in [
            ("user", "Question the crash cut"),
            ("user", "Question answered later"),
            ("assistant", "The later answer."),
            ("user", "Question still open"),
        ]:
            db.append_message("cut01", role, text)

    assert commands.dispatch(app, "/resume cut01") is True

    lines = [line.strip() for line in printed(app).splitlines() if line.strip()]
    start = lines.index("❯ Question the crash cut")
    assert lines[start : start + 5] == [
        "❯ Question the crash cut",
        "⚠ interrupted: no answer was finished for this message",
        "❯ Question answered later",
        "The later answer.",
        "❯ Question still open",
    ]
    assert lines[start + 5] == "⚠ interrupted: no answer was finished for this message"


def test_model_sets_this_session_and_new_ones(app, fake):
    fake.script(Reply.text("Hi."), Reply.text("Hi again."))
    commands.dispatch(app, "/model other-model")
    app.send("Hello")
    assert fake.requests[-1]["model"] == "other-model"

    commands.dispatch(app, "/new")
    commands.dispatch(app, "/model")

    assert "Model: other-model (new sessions: other-model)" in printed(app)


def test_unknown_commands_and_missing_arguments_are_explained_not_sent(app, fake):
    assert commands.dispatch(app, "/reusme x") is True
    assert commands.dispatch(app, "/delete") is True
    assert commands.dispatch(app, "just a message") is False

    shown = printed(app)
    assert "Did you mean /resume?" in shown
    assert "Usage: /delete <id>" in shown
    assert fake.requests == []


def test_attach_sends_the_file_with_the_next_message_only(app, fake, tmp_path):
    plan = tmp_path / "work" / "plan.txt"
    plan.write_text("step one: pack the rope\n", encoding="utf-8")
    fake.script(Reply.text("Pack the rope."), Reply.text("Nothing attached now."))

    commands.dispatch(app, f"/attach {plan}")
    app.send("What is step one?")
    parts = fake.requests[-1]["messages"][-1]["content"]
    app.send("And now?")

    assert "Attached plan.txt (24 bytes)" in printed(app)
    assert parts[0] == {"type": "text", "text": "What is step one?"}
    assert "step one: pack the rope" in parts[1]["text"]
    assert fake.requests[-1]["messages"][-1]["content"] == "And now?"


def test_attach_of_a_missing_file_says_so_and_attaches_nothing(app, fake, tmp_path):
    commands.dispatch(app, f"/attach {tmp_path / 'nowhere.png'}")
    commands.dispatch(app, "/attach")

    assert "No such file" in printed(app)
    assert "Files for your next message: none" in printed(app)


def test_a_skill_is_invoked_by_its_slash_command(app, fake, tmp_path, monkeypatch):
    monkeypatch.setenv("HERMES_HOME", str(tmp_path / "home"))  # the client's, as the gateway's
    skill = tmp_path / "home" / "skills" / "limerick"
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text("---\nname: limerick\ndescription: Rhyme it.\n---\nAABBA.\n")
    fake.script(Reply.text("There once was a frog..."))

    line = "/limerick about a frog"
    assert commands.dispatch(app, line) is False, "a skill's command is a message to send"
    app.send(line)

    parts = fake.requests[-1]["messages"][-1]["content"]
    assert parts[0]["text"] == line and "AABBA." in parts[1]["text"]


def test_memory_shows_what_the_agent_remembers(app, tmp_path, monkeypatch):
    from hermes_agent.memory import MemoryStore

    monkeypatch.setenv("HERMES_HOME", str(tmp_path / "home"))
    MemoryStore(tmp_path / "home" / "memories").add("memory", "Tests run with pytest -q.")

    commands.dispatch(app, "/memory")

    assert "## Memory (your notes) [1% — 25/2,200 chars]\nTests run with pytest -q." in printed(app)


def test_tools_lists_the_tools_the_gateway_offers(app):
    commands.dispatch(app, "/tools")

    shown = printed(app)
    assert "Tools\n" in shown and "terminal" in shown
    assert "**" not in shown


def test_cron_adds_pauses_lists_and_removes_jobs_through_the_gateway(app, tmp_path):
    commands.dispatch(app, "/cron add every 2h | Check the backups")
    [job] = stored(tmp_path).cron_jobs()
    commands.dispatch(app, f"/cron pause {job['id']}")
    commands.dispatch(app, "/cron")
    commands.dispatch(app, "/cron add every 2h")
    commands.dispatch(app, f"/cron remove {job['id']}")

    shown = printed(app)
    assert f"Scheduled Check the backups ({job['id']}): Every 2 hours." in shown
    assert f"Paused Check the backups ({job['id']})." in shown
    assert f"{job['id']} Check the backups · Every 2 hours\n    next: paused" in shown
    assert "write /cron add SCHEDULE | PROMPT" in shown
    assert f"Removed Check the backups ({job['id']})." in shown
    assert "**" not in shown
    assert (job["deliver"], job["origin"]) == ("web", "tui")
    assert stored(tmp_path).cron_jobs() == []
