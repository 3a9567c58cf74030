"""The terminal gateway driven as its client drives it: `python -m tui_gateway` over pipes,
against the scripted provider, with the store checked in state.db afterwards."""

from __future__ import annotations

import json
import signal
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from hermes_state import SessionDB
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.tui_gateway_support import TIMEOUT, Gateway, started_gateways

SLOW_ANSWER = " ".join(f"word{i}" for i in range(300))


@pytest.fixture
def fake():
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def start(tmp_path, fake):
    with started_gateways(tmp_path, fake) as start:
        yield start


def store(tmp_path: Path) -> SessionDB:
    return SessionDB(db_path=tmp_path / "home" / "state.db")


def types(events: list[dict]) -> list[str]:
    return [e["type"] for e in events]


def conversation(db: SessionDB, session_id: str) -> list[tuple[str, Any]]:
    return [(m["role"], m["content"]) for m in db.get_messages_as_conversation(session_id)]


# -- a turn -------------------------------------------------------------------------------------


def test_a_turn_streams_deltas_then_completes_with_usage_and_is_recorded_as_tui(
    start, fake, tmp_path
):
    fake.script(Reply.text("Monday: rest.\n\nTuesday: **work**.", usage=(12, 7)))
    gateway = start()
    sid = gateway.create()

    events, complete = gateway.turn(sid, "Plan my week")

    kinds = types(events)
    assert kinds[0] == "message.start"
    assert kinds.count("message.delta") > 3
    assert kinds[-1] == "message.complete"
    deltas = [e["payload"]["text"] for e in events if e["type"] == "message.delta"]
    assert "".join(deltas) == "Monday: rest.\n\nTuesday: **work**."
    assert any("rendered" in e["payload"] for e in events if e["type"] == "message.delta")
    assert complete["status"] == "complete"
    assert complete["text"] == "Monday: rest.\n\nTuesday: **work**."
    assert "\x1b[1mwork" in complete["rendered"]  # bold, as ANSI
    assert (complete["usage"]["input"], complete["usage"]["output"]) == (12, 7)
    assert complete["turn_usage"]["input_tokens"] == 12
    usage = gateway.result("session.usage", {"session_id": sid})
    assert (usage["input"], usage["output"], usage["calls"]) == (12, 7, 1)
    assert usage["model"] == "fake-model"

    titled = gateway.result("session.title", {"session_id": sid})
    assert titled == {"title": "Plan my week", "pending": False}
    listed = gateway.result("session.list", {"source": "tui"})["sessions"]
    assert [(row["title"], row["live_session_id"]) for row in listed] == [("Plan my week", sid)]
    db = store(tmp_path)
    row = db.get_session(listed[0]["id"])
    assert row["source"] == "tui"
    assert (row["input_tokens"], row["output_tokens"]) == (12, 7)
    assert conversation(db, row["id"]) == [
        ("user", "Plan my week"),
        ("assistant", "Monday: rest.\n\nTuesday: **work**."),
    ]
    assert [hit["session_id"] for hit in db.search_messages("Tuesday")] == [row["id"]]


def after_one_turn(start, fake) -> tuple[Gateway, str, str]:
    """A gateway with one session that has had one turn: (gateway, live id, stored id)."""
    fake.script(Reply.text("Hi."))
    gateway = start()
    sid = gateway.create()
    gateway.turn(sid, "Hello")
    return gateway, sid, gateway.result("session.list", {})["sessions"][0]["id"]


def test_end_of_input_ends_the_open_sessions_in_the_store(start, fake, tmp_path):
    gateway, _, key = after_one_turn(start, fake)

    assert gateway.close() == 0

    row = store(tmp_path).get_session(key)
    assert row["end_reason"] == "tui_shutdown"
    assert row["ended_at"] is not None


def test_sigterm_ends_the_open_sessions_in_the_store(start, fake, tmp_path):
    gateway, _, key = after_one_turn(start, fake)

    gateway.proc.send_signal(signal.SIGTERM)

    assert gateway.proc.wait(TIMEOUT) == 128 + signal.SIGTERM
    row = store(tmp_path).get_session(key)
    assert row["end_reason"] == "tui_shutdown"
    assert row["ended_at"] is not None


def test_a_session_closed_before_its_first_message_leaves_no_row(start, tmp_path):
    gateway = start()
    created = gateway.result("session.create", {"cols": 100})

    assert gateway.result("session.close", {"session_id": created["session_id"]}) == {
        "closed": True
    }
    assert gateway.result("session.close", {"session_id": created["session_id"]}) == {
        "closed": False
    }
    assert store(tmp_path).get_session(created["session_key"]) is None


# -- busy, interrupt ----------------------------------------------------------------------------


def test_a_running_turn_refuses_another_message_and_undo(start, fake):
    fake.script(Reply.text(SLOW_ANSWER, delay=0.05))
    gateway = start()
    sid = gateway.create()
    gateway.result("prompt.submit", {"session_id": sid, "text": "Tell me a story"})
    gateway.until("message.delta", sid)

    busy = gateway.error("prompt.submit", {"session_id": sid, "text": "And another"})
    assert busy["code"] == 4009
    assert "busy" in busy["message"]
    assert gateway.error("session.undo", {"session_id": sid})["code"] == 4009

    gateway.result("session.interrupt", {"session_id": sid})
    gateway.until("message.complete", sid)


def test_interrupt_ends_a_slow_reply_as_interrupted_and_the_session_goes_on(start, fake):
    fake.script(Reply.text(SLOW_ANSWER, delay=0.05), Reply.text("Short answer."))
    gateway = start()
    sid = gateway.create()
    gateway.result("prompt.submit", {"session_id": sid, "text": "Tell me a story"})
    gateway.until("message.delta", sid)

    assert gateway.result("session.interrupt", {"session_id": sid}) == {"status": "interrupted"}
    events = gateway.until("message.complete", sid)
    complete = events[-1]["payload"]
    assert complete["status"] == "interrupted"
    streamed = "".join(e["payload"]["text"] for e in events if e["type"] == "message.delta")
    assert len(streamed) < len(SLOW_ANSWER)

    _, after = gateway.turn(sid, "Shorter, please")
    assert (after["status"], after["text"]) == ("complete", "Short answer.")
    assert gateway.result("session.interrupt", {"session_id": sid}) == {"status": "idle"}


# -- approvals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("choice", "runs"), [("once", True), ("deny", False)])
def test_a_command_waits_for_the_users_approval(start, fake, choice, runs):
    fake.script(
        Reply.tool_calls([("terminal", {"command": "touch approved.txt"})]),
        Reply.text("Done."),
    )
    gateway = start()
    sid = gateway.create()
    gateway.result("prompt.submit", {"session_id": sid, "text": "Make the file"})

    asked = gateway.until("approval.request", sid)
    request = asked[-1]["payload"]
    assert request["command"] == "touch approved.txt"
    assert "deny" in request["choices"]
    answer = {"session_id": sid, "choice": choice, "approval_id": request["approval_id"]}
    assert gateway.result("approval.respond", answer) == {"resolved": True}
    events = asked + gateway.until("message.complete", sid)

    started = next(e["payload"] for e in events if e["type"] == "tool.start")
    completed = next(e["payload"] for e in events if e["type"] == "tool.complete")
    assert started["name"] == completed["name"] == "terminal"
    assert started["tool_id"] == completed["tool_id"]
    assert completed["is_error"] is not runs
    assert (gateway.workspace / "approved.txt").exists() is runs
    assert events[-1]["payload"]["text"] == "Done."
    assert gateway.result("approval.respond", answer) == {"resolved": False}


# -- undo, compress -----------------------------------------------------------------------------


def test_undo_drops_the_last_exchange_from_the_context_and_the_store(start, fake, tmp_path):
    fake.script(Reply.text("One."), Reply.text("Two."), Reply.text("Three."))
    gateway = start()
    sid = gateway.create()
    gateway.turn(sid, "first")
    gateway.turn(sid, "second")

    assert gateway.result("session.undo", {"session_id": sid}) == {"removed": 2, "text": "second"}

    shown = gateway.result("session.history", {"session_id": sid})
    assert [m["content"] for m in shown["messages"]] == ["first", "One."]
    gateway.turn(sid, "third")
    sent = [m["content"] for m in fake.requests[-1]["messages"] if m["role"] != "system"]
    assert sent == ["first", "One.", "third"]
    key = gateway.result("session.list", {})["sessions"][0]["id"]
    assert [c for _, c in conversation(store(tmp_path), key)] == [
        "first",
        "One.",
        "third",
        "Three.",
    ]


def test_undo_with_nothing_to_undo_is_refused(start):
    gateway = start()
    sid = gateway.create()
    assert gateway.error("session.undo", {"session_id": sid})["code"] == 4008


def test_branch_copies_the_conversation_into_a_new_stored_session_that_goes_its_own_way(
    start, fake, tmp_path
):
    fake.script(Reply.text("Alfama."), Reply.text("Sintra."), Reply.text("Belém."))
    gateway = start()
    sid = gateway.create()
    gateway.turn(sid, "Day one in Lisbon?")
    gateway.result("session.title", {"session_id": sid, "title": "Lisbon"})

    branched = gateway.result("session.branch", {"session_id": sid})

    other = branched["session_id"]
    assert other != sid and branched["title"] == "Lisbon (branch)"
    assert branched["message_count"] == 2
    key = branched["info"]["session_key"]
    assert conversation(store(tmp_path), key) == [
        ("user", "Day one in Lisbon?"),
        ("assistant", "Alfama."),
    ], "stored at once, so it can be resumed before a message is sent in it"
    gateway.turn(other, "Day two by train?")
    sent = [m["content"] for m in fake.requests[-1]["messages"] if m["role"] != "system"]
    assert sent == ["Day one in Lisbon?", "Alfama.", "Day two by train?"]
    gateway.turn(sid, "Day two on foot?")
    source = gateway.result("session.list", {})["sessions"]
    original = next(row["id"] for row in source if row["title"] == "Lisbon")
    assert [c for _, c in conversation(store(tmp_path), original)] == [
        "Day one in Lisbon?",
        "Alfama.",
        "Day two on foot?",
        "Belém.",
    ]
    assert [c for _, c in conversation(store(tmp_path), key)][-1] == "Sintra."


def test_branch_of_an_empty_or_busy_session_is_refused(start, fake):
    fake.script(Reply.text(SLOW_ANSWER, delay=0.05))
    gateway = start()
    sid = gateway.create()
    assert gateway.error("session.branch", {"session_id": sid})["code"] == 4008
    gateway.result("prompt.submit", {"session_id": sid, "text": "Tell me a story"})
    gateway.until("message.delta", sid)
    assert gateway.error("session.branch", {"session_id": sid})["code"] == 4009
    gateway.result("session.interrupt", {"session_id": sid})
    gateway.until("message.complete", sid)


def referrers(tmp_path: Path) -> list[set[str]]:
    """For each stored file, the conversations it lives for."""
    blobs = (tmp_path / "home" / "attachments" / "blobs").glob("*.json")
    return [set(json.loads(meta.read_text())["sessions"]) for meta in blobs]


def test_a_file_lives_for_every_conversation_carrying_it_branch_and_compression_too(
    start, fake, tmp_path
):
    notes = tmp_path / "packing.txt"
    notes.write_text("Rope, map, water.")
    fake.script(Reply.text("Rope noted."), *(Reply.text(f"Answer {i}.") for i in range(3)))
    gateway = start()
    sid = gateway.create()
    submit = {"session_id": sid, "text": "My list", "attachments": [str(notes)]}
    assert gateway.result("prompt.submit", submit) == {"status": "streaming"}
    gateway.until("message.complete", sid)
    for i in range(3):
        gateway.turn(sid, f"Question {i}")
    original = gateway.result("session.list", {})["sessions"][0]["id"]
    assert referrers(tmp_path) == [{original}]

    branch = gateway.result("session.branch", {"session_id": sid})["info"]["session_key"]
    fake.script(Reply.text("A packing list, then questions."))
    compressed = gateway.result("session.compress", {"session_id": sid})

    assert compressed["status"] == "compressed"
    assert referrers(tmp_path) == [{original, branch, compressed["session_key"]}]


def test_a_compression_during_a_turn_keeps_the_files_of_the_messages_it_kept(start, fake, tmp_path):
    notes = tmp_path / "packing.txt"
    notes.write_text("Rope, map, water.")
    gateway = start(
        HERMES_CONTEXT_LENGTH="6144",
        HERMES_COMPRESSION_THRESHOLD="0.5",
        HERMES_ENABLED_TOOLS="todo",  # the budget is the history's, whatever tools ship
    )
    sid = gateway.create()
    fake.script(Reply.text("Rope noted."), *(Reply.text("y" * 2500) for _ in range(3)))
    submit = {"session_id": sid, "text": "My list", "attachments": [str(notes)]}
    assert gateway.result("prompt.submit", submit) == {"status": "streaming"}
    gateway.until("message.complete", sid)
    for i in range(3):
        gateway.turn(sid, f"question {i} " + "x" * 2500)
    fake.script(Reply.text("A list, then long questions."), Reply.text("Here."))

    gateway.turn(sid, "and the last one?")

    with sqlite3.connect(tmp_path / "home" / "state.db") as db:
        lineage = {row[0] for row in db.execute("SELECT id FROM sessions")}
    assert len(lineage) > 1, "the turn should have compressed"
    assert referrers(tmp_path) == [lineage]


def test_compress_continues_in_a_new_session_and_close_ends_that_one(start, fake, tmp_path):
    fake.script(*(Reply.text(f"Answer {i}.") for i in range(4)))
    gateway = start()
    sid = gateway.create()
    for i in range(4):
        gateway.turn(sid, f"Question {i}")
    old = gateway.result("session.list", {})["sessions"][0]["id"]
    fake.script(Reply.text("They asked four questions."), Reply.text("Answer 4."))

    compressed = gateway.result("session.compress", {"session_id": sid})

    assert compressed["status"] == "compressed"
    assert (compressed["before_messages"], compressed["after_messages"]) == (8, 7)
    new = compressed["session_key"]
    assert new != old
    events = gateway.until("status.update", sid)
    assert events[-1]["payload"]["kind"] == "compressing"
    info = [e for e in gateway.until("session.info", sid) if e["type"] == "session.info"][-1]
    assert info["payload"]["session_key"] == new
    _, complete = gateway.turn(sid, "Question 4")
    assert complete["text"] == "Answer 4."
    sent = fake.requests[-1]["messages"]
    assert any("They asked four questions." in str(m["content"]) for m in sent)

    assert gateway.result("session.close", {"session_id": sid}) == {"closed": True}

    db = store(tmp_path)
    parent, child = db.get_session(old), db.get_session(new)
    assert parent["end_reason"] == "compression"
    assert child["parent_session_id"] == old
    assert child["end_reason"] == "tui_close"
    assert conversation(db, new)[-2:] == [("user", "Question 4"), ("assistant", "Answer 4.")]


def test_a_turn_that_compresses_on_its_own_moves_the_session_to_its_continuation(
    start, fake, tmp_path
):
    fake.script(*(Reply.text(f"Answer {i}.") for i in range(3)))
    gateway = start(HERMES_CONTEXT_LENGTH="512")
    sid = gateway.create()
    for i in range(3):
        gateway.turn(sid, f"Question {i}")
    old = gateway.result("session.list", {})["sessions"][0]["id"]
    fake.script(Reply.text("Three questions so far."), Reply.text("Answer 3."))

    events, complete = gateway.turn(sid, "Question 3")

    assert complete["text"] == "Answer 3."
    assert complete["usage"]["compressions"] == 1
    status = [e["payload"]["kind"] for e in events if e["type"] == "status.update"]
    assert status == ["compressing", "compressed"]
    info = next(e["payload"] for e in events if e["type"] == "session.info")
    new = info["session_key"]
    assert new != old
    gateway.result("session.close", {"session_id": sid})
    db = store(tmp_path)
    assert db.get_session(old)["end_reason"] == "compression"
    assert db.get_session(new)["end_reason"] == "tui_close"
    assert db.get_session(new)["parent_session_id"] == old


def test_a_provider_failure_ends_the_turn_as_an_error_and_keeps_the_message(start, fake, tmp_path):
    fake.script(Reply.error(500, "The server had an error"), Reply.text("Back again."))
    gateway = start()
    sid = gateway.create()

    _, failed = gateway.turn(sid, "Are you there?")

    assert failed["status"] == "error"
    assert "server had an error" in failed["error"]
    assert failed["text"].startswith("Error: ")
    _, complete = gateway.turn(sid, "Hello?")
    assert complete["text"] == "Back again."
    sent = [m["content"] for m in fake.requests[-1]["messages"] if m["role"] != "system"]
    assert sent == ["Are you there?", "Hello?"]


def test_compress_refuses_a_short_conversation(start, fake):
    gateway, sid, _ = after_one_turn(start, fake)
    assert gateway.error("session.compress", {"session_id": sid})["code"] == 4008


# -- titles, resume, delete ---------------------------------------------------------------------


def test_a_title_set_before_the_first_message_survives_a_restart_and_resumes_by_title(
    start, fake, tmp_path
):
    fake.script(Reply.text("Pack light."), Reply.text("Take the tram."))
    first = start()
    sid = first.create()
    assert first.result("session.title", {"session_id": sid, "title": "Trip to Lisbon"}) == {
        "title": "Trip to Lisbon",
        "pending": True,
    }
    first.turn(sid, "What should I pack?")
    assert first.result("session.title", {"session_id": sid}) == {
        "title": "Trip to Lisbon",
        "pending": False,
    }
    assert first.close() == 0

    second = start()
    resumed = second.result("session.resume", {"session_id": "Trip to Lisbon"})

    assert resumed["title"] == "Trip to Lisbon"
    assert [m["content"] for m in resumed["messages"]] == ["What should I pack?", "Pack light."]
    _, complete = second.turn(resumed["session_id"], "How do I get around?")
    assert complete["text"] == "Take the tram."
    sent = [m["content"] for m in fake.requests[-1]["messages"] if m["role"] != "system"]
    assert sent == ["What should I pack?", "Pack light.", "How do I get around?"]
    row = store(tmp_path).get_session(resumed["resumed"])
    assert row["title"] == "Trip to Lisbon"
    assert row["ended_at"] is None  # reopened while it is live
    assert second.error("session.resume", {"session_id": "Trip to Lisbon"})["code"] == 4023


def test_a_taken_title_is_refused(start, fake):
    fake.script(Reply.text("A."), Reply.text("B."))
    gateway = start()
    one, two = gateway.create(), gateway.create()
    gateway.turn(one, "alpha")
    gateway.turn(two, "beta")

    refused = gateway.error("session.title", {"session_id": two, "title": "alpha"})
    assert refused["code"] == 4022
    assert "already in use" in refused["message"]
    assert gateway.error("session.title", {"session_id": two, "title": "   "})["code"] == 4002


def test_delete_refuses_a_live_session_and_removes_a_closed_one(start, fake, tmp_path):
    gateway, sid, key = after_one_turn(start, fake)

    assert gateway.error("session.delete", {"session_id": key})["code"] == 4023
    gateway.result("session.close", {"session_id": sid})
    assert gateway.result("session.delete", {"session_id": key}) == {"deleted": key}
    assert store(tmp_path).get_session(key) is None
    assert gateway.error("session.delete", {"session_id": key})["code"] == 4007
    assert gateway.error("session.resume", {"session_id": "no such title"})["code"] == 4007


# -- config and commands ------------------------------------------------------------------------


def test_config_set_switches_the_model_of_one_session(start, fake):
    fake.script(Reply.text("Hi."))
    gateway = start()
    sid = gateway.create()
    assert gateway.result("config.get", {"key": "model"}) == {"key": "model", "value": "fake-model"}

    switched = gateway.result(
        "config.set", {"key": "model", "value": "other-model", "session_id": sid}
    )
    assert switched["value"] == "other-model"
    gateway.turn(sid, "Hello")
    assert fake.requests[-1]["model"] == "other-model"
    assert gateway.result("session.usage", {"session_id": sid})["model"] == "other-model"
    assert gateway.error("config.set", {"key": "provider", "value": "x"})["code"] == -32602
    settings = gateway.result("config.get")["settings"]
    assert settings["api_key"] != "test-key"  # masked
    names = {c["name"]: c["method"] for c in gateway.result("commands.catalog")["commands"]}
    assert names["/compress"] == "session.compress"


def test_mcp_tools_work_in_the_terminal_and_tools_list_shows_them(start, fake, tmp_path):
    import sys

    from hermes_agent.mcp_client.config import ServerConfig, save_server
    from tests.support import REPO_ROOT

    server = ServerConfig(
        command=sys.executable, args=("-m", "tests.fakes.mcp_server", "stdio"), cwd=str(REPO_ROOT)
    )
    save_server("fake", server, {"HERMES_HOME": str(tmp_path / "home")})
    gateway = start()
    before = gateway.result("tools.list")
    assert "**MCP fake** (stdio): starts with the first conversation" in before["text"]

    fake.script(Reply.tool_calls([("mcp_fake_echo", {"text": "tui"})]), Reply.text("Done."))
    sid = gateway.create()
    gateway.turn(sid, "echo over MCP")
    assert fake.requests[-1]["messages"][-1]["content"] == "echo: tui"
    after = gateway.result("tools.list")
    assert after["mcp_servers"][0]["state"] == "ready"
    assert "mcp_fake_echo" in after["text"]


def test_cron_manage_adds_lists_pauses_runs_and_removes_a_job(start, fake, tmp_path):
    gateway = start(HOME=str(tmp_path / "user"), HERMES_TIMEZONE="UTC")
    assert gateway.result("cron.manage") == {"text": "No scheduled jobs."}

    added = gateway.result(
        "cron.manage", {"action": "add", "schedule": "every 2h", "prompt": "Check the backups"}
    )["text"]
    job_id = added.split("(", 1)[1][:12]
    assert added.startswith(f"⏰ Scheduled **Check the backups** ({job_id}): Every 2 hours.")
    assert added.endswith("; answers go to web.")
    listed = gateway.result("cron.manage", {"action": "list"})["text"]
    assert f"**{job_id}** Check the backups · Every 2 hours\n" in listed
    paused = gateway.result("cron.manage", {"action": "pause", "job_id": job_id})["text"]
    assert paused == f"⏸ Paused **Check the backups** ({job_id})."
    job = store(tmp_path).cron_job(job_id)
    assert (job["paused"], job["deliver"], job["origin"]) == (True, "web", "tui")

    fake.script(Reply.text("Backups are fine."))
    ran = gateway.result("cron.manage", {"action": "run", "job_id": job_id})["text"]
    assert ran == f"✅ **Check the backups** ({job_id}):\n\nBackups are fine."
    [run] = store(tmp_path).cron_runs(job_id)
    assert (run["status"], run["trigger"]) == ("ok", "manual")

    too_often = {"action": "add", "schedule": "every 10s", "prompt": "Spin"}
    assert gateway.error("cron.manage", too_often)["code"] == 4002
    assert gateway.error("cron.manage", {"action": "pause", "job_id": "nope"})["code"] == 4002
    assert gateway.error("cron.manage", {"action": "explode"})["code"] == -32602
    removed = gateway.result("cron.manage", {"action": "remove", "job_id": job_id})["text"]
    assert removed == f"🗑 Removed **Check the backups** ({job_id})."
    assert store(tmp_path).cron_jobs() == []


# -- the protocol -------------------------------------------------------------------------------


def test_protocol_errors_are_answered_and_the_gateway_stays_up(start):
    gateway = start()

    gateway.send_line(b"{not json")
    gateway.send_line(b"[1, 2]")
    gateway.send_line(b'{"jsonrpc": "2.0", "id": 7, "params": {}}')
    gateway.send_line(b'{"jsonrpc": "2.0", "method": "commands.catalog"}')  # notification
    gateway.send_line(b'{"jsonrpc": "2.0", "params": {}}')  # no id, but no request either
    assert gateway.reply(None)["error"]["code"] == -32700
    assert gateway.reply(None)["error"]["code"] == -32600
    assert gateway.reply(7)["error"]["code"] == -32600
    assert gateway.reply(None)["error"]["code"] == -32600
    assert gateway.error("no.such.method")["code"] == -32601
    assert gateway.error("session.create", {"cols": "wide"})["code"] == -32602
    assert gateway.error("session.create", {"colour": "red"})["code"] == -32602
    assert gateway.error("prompt.submit", {"session_id": "abc"})["code"] == -32602
    gateway.send_line(b'{"jsonrpc": "2.0", "id": "list", "method": "session.usage", "params": []}')
    assert gateway.reply("list")["error"]["code"] == -32602
    assert gateway.error("prompt.submit", {"session_id": "nope", "text": "hi"})["code"] == 4001

    assert gateway.create()
    assert not gateway.replies, "the notification was answered"
    assert gateway.proc.poll() is None
