"""`hermes gateway` on Telegram, driven as people drive it: users write to the fake Bot API
(real HTTP on 127.0.0.1), the gateway process polls it through python-telegram-bot and
answers with the scripted provider; the tests read what the bot sent and what state.db holds.

One gateway serves the whole module; each test talks in chats of its own.
"""

from __future__ import annotations

import itertools
import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.fakes.telegram_server import FakeTelegram
from tests.gateway_support import TIMEOUT, GatewayProcess, texts

ALLOWED = range(100, 160)
BOT = "@hermes_test_bot"
STRANGER = 9001
_chats = itertools.count(ALLOWED.start)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with FakeTelegram() as tg, FakeOpenAI() as llm:
        gateway = GatewayProcess(
            tmp_path_factory.mktemp("gateway-telegram"),
            llm,
            tg,
            HERMES_TELEGRAM_ALLOWED_USERS=",".join(str(u) for u in ALLOWED),
        ).start()
        yield tg, llm, gateway
        assert gateway.stop() == 0, gateway.log()


@pytest.fixture
def tg(world) -> FakeTelegram:
    return world[0]


@pytest.fixture
def llm(world) -> FakeOpenAI:
    world[1].clear_script()
    return world[1]


@pytest.fixture
def gateway(world) -> GatewayProcess:
    return world[2]


@pytest.fixture
def chat() -> int:
    """A private chat of its own: the chat id is the user's id, as on Telegram."""
    return next(_chats)


def say(tg: FakeTelegram, chat: int, text: str) -> int:
    return tg.push_message(chat, chat, text)


def wait_text(tg: FakeTelegram, chat: int, index: int, text: str) -> None:
    """Until message `index` of the chat shows exactly `text`."""
    tg.wait_until(
        lambda: len(tg.messages(chat)) > index and tg.messages(chat)[index].text == text, TIMEOUT
    )


def wait_count(tg: FakeTelegram, chat: int, count: int) -> list[str]:
    tg.wait_until(lambda: len(tg.messages(chat)) >= count, TIMEOUT)
    return texts(tg, chat)


def sent_to(tg: FakeTelegram, method: str, chat: int) -> list[Any]:
    return [c for c in tg.calls(method) if c.params.get("chat_id") == chat]


def user_messages(request: dict) -> list[str]:
    return [m["content"] for m in request["messages"] if m["role"] in ("user", "assistant")]


def session_of(gateway: GatewayProcess, user: int) -> list[dict]:
    """The user's state.db sessions (source telegram), oldest first."""
    db = gateway.db()
    try:
        rows = db.list_sessions_rich(source="telegram", limit=1000, include_children=True)
    finally:
        db.close()
    return sorted((r for r in rows if r["user_id"] == str(user)), key=lambda r: r["started_at"])


def transcript(gateway: GatewayProcess, session_id: str) -> list[tuple[str, str]]:
    db = gateway.db()
    try:
        return [(m["role"], m["content"]) for m in db.get_messages_as_conversation(session_id)]
    finally:
        db.close()


# -- answers ----------------------------------------------------------------------------------


def test_an_answer_is_streamed_into_one_message_edited_at_most_once_a_second(tg, llm, chat):
    answer = " ".join(f"word{i}" for i in range(50))
    llm.script(Reply.text(answer, delay=0.07))
    say(tg, chat, "tell me a lot")
    wait_text(tg, chat, 0, answer)
    [message] = tg.messages(chat)
    assert message.parse_mode == "HTML"
    assert message.edits, "the answer should have appeared before it was complete"
    assert all(answer.startswith(earlier.rstrip()) for earlier in message.edits)
    assert len(message.edits[0]) < len(answer)
    pushes = sent_to(tg, "sendMessage", chat) + sent_to(tg, "editMessageText", chat)
    moments = [call.at for call in pushes]
    assert len(moments) == len(message.edits) + 1
    assert all(later - earlier >= 0.95 for earlier, later in itertools.pairwise(moments))
    assert "typing" in tg.chat_actions(chat)


def test_two_quick_messages_are_answered_in_order_with_the_history(tg, llm, chat):
    llm.script(Reply.text("first answer", delay=0.2), Reply.text("second answer"))
    say(tg, chat, "one")
    say(tg, chat, "two")
    wait_text(tg, chat, 1, "second answer")
    assert texts(tg, chat) == ["first answer", "second answer"]
    first, second = llm.requests[-2:]
    assert user_messages(first) == ["one"]
    assert user_messages(second) == ["one", "first answer", "two"]


def test_a_6000_character_answer_arrives_in_two_messages_cut_between_paragraphs(tg, llm, chat):
    paragraphs = [f"Paragraph {i}: " + "lorem ipsum " * 90 for i in range(6)]
    answer = "\n\n".join(p.strip() for p in paragraphs)[:6000]
    assert len(answer) == 6000
    llm.script(Reply.text(answer))
    say(tg, chat, "write a long essay")
    tg.wait_until(lambda: "\n\n".join(texts(tg, chat)) == answer, TIMEOUT)
    parts = texts(tg, chat)
    assert len(parts) == 2
    assert all(len(part) <= 4096 for part in parts)
    assert parts[1].startswith("Paragraph ")


def test_markdown_is_sent_as_telegram_html_with_everything_else_escaped(tg, llm, chat):
    llm.script(Reply.text("**Done**: see `a<b>` & [docs](https://example.org/?q=1&r=2)"))
    say(tg, chat, "format it")
    expected = (
        '<b>Done</b>: see <code>a&lt;b&gt;</code> &amp; <a href="https://example.org/?q=1&amp;r=2">'
        "docs</a>"
    )
    wait_text(tg, chat, 0, expected)
    assert tg.messages(chat)[0].parse_mode == "HTML"


def test_each_member_of_a_group_has_a_conversation_of_their_own(tg, llm):
    group, alice, bob = -5000, next(_chats), next(_chats)
    llm.script(Reply.text("hi Alice"), Reply.text("hi Bob"))
    tg.push_message(group, alice, f"{BOT} I am Alice", chat_type="group")
    tg.wait_until(lambda: texts(tg, group) == ["hi Alice"], TIMEOUT)
    tg.push_message(group, bob, f"{BOT} who spoke before me?", chat_type="group")
    tg.wait_until(lambda: texts(tg, group) == ["hi Alice", "hi Bob"], TIMEOUT)
    assert user_messages(llm.requests[-1]) == ["who spoke before me?"]


# -- groups -----------------------------------------------------------------------------------


def in_group(tg: FakeTelegram, group: int, user: int, text: str, **more: Any) -> int:
    """A member writes in the group; the id of the message."""
    return tg.message_id_of(tg.push_message(group, user, text, chat_type="group", **more))


def test_in_a_group_a_message_not_addressed_to_the_bot_is_ignored_and_confirmed(tg, llm, gateway):
    group, alice = -5100, next(_chats)
    llm.script(Reply.text("Paris."))
    ignored = tg.push_message(group, alice, "lunch at noon, everyone?", chat_type="group")
    tg.push_message(group, alice, f"Hey {BOT}, what is the capital of France?", chat_type="group")
    tg.wait_until(lambda: texts(tg, group) == ["Paris."], TIMEOUT)
    assert user_messages(llm.requests[-1]) == ["Hey, what is the capital of France?"]
    [session] = session_of(gateway, alice)
    assert transcript(gateway, session["id"]) == [
        ("user", "Hey, what is the capital of France?"),
        ("assistant", "Paris."),
    ]
    tg.wait_until(  # confirmed, so Telegram does not send it again
        lambda: any(int(c.params.get("offset") or 0) > ignored for c in tg.calls("getUpdates")),
        TIMEOUT,
    )


def test_in_a_group_a_reply_to_the_bots_message_is_answered(tg, llm):
    group, alice = -5101, next(_chats)
    llm.script(Reply.text("4"), Reply.text("6"))
    in_group(tg, group, alice, f"{BOT} what is 2+2?")
    tg.wait_until(lambda: texts(tg, group) == ["4"], TIMEOUT)
    in_group(tg, group, alice, "and 3+3?", reply_to=tg.messages(group)[0].message_id)
    tg.wait_until(lambda: texts(tg, group) == ["4", "6"], TIMEOUT)
    assert user_messages(llm.requests[-1]) == ["what is 2+2?", "4", "and 3+3?"]


def test_in_a_group_a_reply_to_someone_else_is_not_for_the_bot(tg, llm):
    group, alice, bob = -5102, next(_chats), next(_chats)
    llm.script(Reply.text("hello Bob"))
    asked = in_group(tg, group, alice, "anyone free tonight?")
    in_group(tg, group, bob, "me!", reply_to=asked)
    in_group(tg, group, bob, f"{BOT} hello")
    tg.wait_until(lambda: texts(tg, group) == ["hello Bob"], TIMEOUT)
    assert user_messages(llm.requests[-1]) == ["hello"]


def test_in_a_group_a_text_mention_of_the_bot_addresses_it(tg, llm):
    group, alice = -5103, next(_chats)
    llm.script(Reply.text("at your service"))
    bot_user = {"id": 123456, "is_bot": True, "first_name": "Hermes Test"}
    mention = {"type": "text_mention", "offset": 0, "length": 6, "user": bot_user}
    in_group(tg, group, alice, "Hermes, are you there?", entities=[mention])
    tg.wait_until(lambda: texts(tg, group) == ["at your service"], TIMEOUT)


def test_in_a_group_commands_are_answered_unless_meant_for_another_bot(tg, llm):
    group, alice = -5104, next(_chats)
    in_group(tg, group, alice, "/model@some_other_bot")
    in_group(tg, group, alice, "/weather")  # not one of ours: another bot's, surely
    in_group(tg, group, alice, "/model")
    in_group(tg, group, alice, "/title@hermes_test_bot")
    in_group(tg, group, alice, "/frobnicate@hermes_test_bot")
    tg.wait_until(lambda: len(texts(tg, group)) >= 3, TIMEOUT)
    assert texts(tg, group) == [
        "Model: fake-model. /model NAME switches this conversation.",
        "This conversation has no title yet.",
        "Unknown command /frobnicate. /help lists the commands.",
    ]


def test_in_a_group_the_answer_and_notices_reply_to_the_message_that_asked(tg, llm):
    group, alice = -5105, next(_chats)
    llm.script(Reply.text("Hi Alice!"), Reply.error(500, "upstream exploded"))
    greeting = in_group(tg, group, alice, f"{BOT} hello")
    tg.wait_until(lambda: texts(tg, group) == ["Hi Alice!"], TIMEOUT)
    command = in_group(tg, group, alice, "/model")
    failing = in_group(tg, group, alice, f"{BOT} and now?")
    tg.wait_until(lambda: len(tg.messages(group)) == 3, TIMEOUT)
    answer, model, failure = tg.messages(group)
    assert answer.reply_to == greeting
    assert model.reply_to == command
    assert failure.text.startswith("The request failed: ")
    assert failure.reply_to == failing


def test_in_a_private_chat_answers_are_not_sent_as_replies(tg, llm, chat):
    llm.script(Reply.text("plain answer"))
    say(tg, chat, "hello")
    wait_text(tg, chat, 0, "plain answer")
    assert tg.messages(chat)[0].reply_to is None


def test_a_stranger_is_not_answered_in_a_group_and_still_refused_in_private(tg, llm):
    group, alice, stranger = -5106, next(_chats), 9002
    llm.script(Reply.text("hi Alice"))
    in_group(tg, group, stranger, f"{BOT} who are you?")
    in_group(tg, group, alice, f"{BOT} hi")
    tg.wait_until(lambda: texts(tg, group) == ["hi Alice"], TIMEOUT)
    tg.push_message(stranger, stranger, "hello?")
    tg.wait_until(lambda: texts(tg, stranger), TIMEOUT)
    assert texts(tg, stranger)[0].startswith("Sorry, this Hermes is private")
    assert texts(tg, group) == ["hi Alice"]
    assert user_messages(llm.requests[-1]) == ["hi"]


def test_an_edited_message_is_answered_as_a_new_message(tg, llm, chat):
    llm.script(Reply.text("Which city?"), Reply.text("Sunny in Rome."))
    asked = say(tg, chat, "weather in Rme?")
    wait_text(tg, chat, 0, "Which city?")
    tg.push_edit(chat, tg.message_id_of(asked), "weather in Rome?")
    wait_text(tg, chat, 1, "Sunny in Rome.")
    assert user_messages(llm.requests[-1]) == ["weather in Rme?", "Which city?", "weather in Rome?"]


def test_in_a_group_an_edit_that_addresses_the_bot_is_answered(tg, llm):
    group, alice = -5107, next(_chats)
    llm.script(Reply.text("Here I am."))
    forgot = in_group(tg, group, alice, "where are you?")
    tg.push_edit(group, forgot, f"{BOT} where are you?")
    tg.wait_until(lambda: texts(tg, group) == ["Here I am."], TIMEOUT)
    assert user_messages(llm.requests[-1]) == ["where are you?"]
    assert tg.messages(group)[0].reply_to == forgot


# -- failures ---------------------------------------------------------------------------------


def test_a_provider_failure_sends_the_normalised_error_text(tg, llm, chat, gateway):
    llm.script(Reply.error(500, "upstream exploded"))
    say(tg, chat, "are you there?")
    [reply] = wait_count(tg, chat, 1)
    assert reply.startswith("The request failed: ")
    assert "upstream exploded" in reply
    assert "/reset" in reply
    [session] = session_of(gateway, chat)
    assert transcript(gateway, session["id"]) == [("user", "are you there?")]


def test_a_context_overflow_suggests_compact_and_reset(tg, llm, chat):
    llm.script(Reply.error(400, "maximum context length exceeded", code="context_length_exceeded"))
    say(tg, chat, "a very long question")
    [reply] = wait_count(tg, chat, 1)
    assert "context window" in reply
    assert "/compact" in reply


def test_flood_control_retry_after_is_honoured(tg, llm, chat):
    llm.script(Reply.text("after the flood"))
    tg.fail_next("sendMessage", retry_after=1)
    say(tg, chat, "hello")
    wait_text(tg, chat, 0, "after the flood")
    failed, delivered = sent_to(tg, "sendMessage", chat)
    assert delivered.at - failed.at >= 1.0
    assert len(tg.messages(chat)) == 1


# -- commands ---------------------------------------------------------------------------------


def test_new_starts_a_fresh_session_and_ends_the_old_one(tg, llm, chat, gateway):
    llm.script(Reply.text("noted"), Reply.text("fresh start"))
    say(tg, chat, "remember the number 7")
    wait_text(tg, chat, 0, "noted")
    say(tg, chat, "/new")
    wait_count(tg, chat, 2)
    assert texts(tg, chat)[1].startswith("✨ New conversation")
    say(tg, chat, "what number?")
    wait_text(tg, chat, 2, "fresh start")
    assert user_messages(llm.requests[-1]) == ["what number?"]
    old, new = session_of(gateway, chat)
    assert old["end_reason"] == "session_reset"
    assert new["end_reason"] is None
    assert transcript(gateway, new["id"]) == [
        ("user", "what number?"),
        ("assistant", "fresh start"),
    ]


def test_reset_is_an_alias_of_new(tg, llm, chat, gateway):
    llm.script(Reply.text("ok"))
    say(tg, chat, "hello")
    wait_text(tg, chat, 0, "ok")
    say(tg, chat, "/reset")
    wait_count(tg, chat, 2)
    assert texts(tg, chat)[1].startswith("✨ New conversation")
    assert session_of(gateway, chat)[0]["end_reason"] == "session_reset"


def test_undo_removes_the_last_exchange_here_and_in_the_store(tg, llm, chat, gateway):
    llm.script(Reply.text("answer one"), Reply.text("answer two"), Reply.text("answer three"))
    say(tg, chat, "q1")
    wait_text(tg, chat, 0, "answer one")
    say(tg, chat, "q2")
    wait_text(tg, chat, 1, "answer two")
    say(tg, chat, "/undo")
    [*_, undone] = wait_count(tg, chat, 3)
    assert "q2" in undone
    [session] = session_of(gateway, chat)
    assert transcript(gateway, session["id"]) == [("user", "q1"), ("assistant", "answer one")]
    say(tg, chat, "q3")
    wait_text(tg, chat, 3, "answer three")
    assert user_messages(llm.requests[-1]) == ["q1", "answer one", "q3"]


def test_branch_goes_on_in_a_copy_and_resume_brings_the_original_back(tg, llm, chat, gateway):
    llm.script(Reply.text("Alfama."), Reply.text("Sintra."), Reply.text("Belém."))
    say(tg, chat, "/branch")
    wait_text(tg, chat, 0, "Nothing to branch yet: send a message first.")
    say(tg, chat, "day one?")
    wait_text(tg, chat, 1, "Alfama.")
    say(tg, chat, "/title Lisbon")
    wait_text(tg, chat, 2, "🏷 Title set: Lisbon")

    say(tg, chat, "/branch")
    [*_, branched] = wait_count(tg, chat, 4)
    assert branched.startswith("🌿 Branched: 2 messages copied into “Lisbon (branch)”")
    say(tg, chat, "day two by train?")
    wait_text(tg, chat, 4, "Sintra.")
    assert user_messages(llm.requests[-1]) == ["day one?", "Alfama.", "day two by train?"]
    say(tg, chat, "/resume Lisbon")
    wait_count(tg, chat, 6)
    say(tg, chat, "day two on foot?")
    wait_text(tg, chat, 6, "Belém.")

    original, branch = session_of(gateway, chat)
    assert (original["title"], branch["title"]) == ("Lisbon", "Lisbon (branch)")
    assert [c for _, c in transcript(gateway, original["id"])] == [
        "day one?", "Alfama.", "day two on foot?", "Belém.",
    ]  # fmt: skip
    assert [c for _, c in transcript(gateway, branch["id"])] == [
        "day one?", "Alfama.", "day two by train?", "Sintra.",
    ]  # fmt: skip


def test_retry_sends_the_last_message_again(tg, llm, chat, gateway):
    llm.script(Reply.text("a poor answer"), Reply.text("a better answer"))
    say(tg, chat, "the question")
    wait_text(tg, chat, 0, "a poor answer")
    say(tg, chat, "/retry")
    wait_text(tg, chat, 1, "a better answer")
    assert user_messages(llm.requests[-1]) == ["the question"]
    [session] = session_of(gateway, chat)
    assert transcript(gateway, session["id"]) == [
        ("user", "the question"),
        ("assistant", "a better answer"),
    ]


def test_usage_reports_the_tokens_the_provider_counted(tg, llm, chat):
    llm.script(Reply.text("counted", usage=(1234, 56)))
    say(tg, chat, "count me")
    wait_text(tg, chat, 0, "counted")
    say(tg, chat, "/usage")
    [_, usage] = wait_count(tg, chat, 2)
    assert "1,234 in, 56 out (1,290 total)" in usage
    assert "Model calls: 1" in usage
    assert "Model: fake-model" in usage


def test_title_names_the_stored_session(tg, llm, chat, gateway):
    llm.script(Reply.text("sure"))
    say(tg, chat, "plan a trip")
    wait_text(tg, chat, 0, "sure")
    say(tg, chat, "/title Rome in spring")
    wait_text(tg, chat, 1, "🏷 Title set: Rome in spring")
    say(tg, chat, "/title")
    wait_text(tg, chat, 2, "Title: Rome in spring")
    [session] = session_of(gateway, chat)
    assert session["title"] == "Rome in spring"


def test_resume_continues_a_session_started_in_the_terminal(tg, llm, chat, gateway):
    db = gateway.db()
    try:
        db.create_session("20250101_090000_abc123", "tui", model="fake-model")
        db.append_message("20250101_090000_abc123", role="user", content="my cat is Tom")
        db.append_message("20250101_090000_abc123", role="assistant", content="Nice, Tom!")
        db.set_session_title("20250101_090000_abc123", "Cat chat")
    finally:
        db.close()
    llm.script(Reply.text("Your cat is Tom."))
    say(tg, chat, "/resume Cat chat")
    [resumed] = wait_count(tg, chat, 1)
    assert resumed.startswith("▶️ Resumed “Cat chat” (2 messages)")
    say(tg, chat, "what is my cat called?")
    wait_text(tg, chat, 1, "Your cat is Tom.")
    assert user_messages(llm.requests[-1]) == [
        "my cat is Tom",
        "Nice, Tom!",
        "what is my cat called?",
    ]
    assert transcript(gateway, "20250101_090000_abc123")[-2:] == [
        ("user", "what is my cat called?"),
        ("assistant", "Your cat is Tom."),
    ]


def test_resume_of_an_unknown_title_says_so(tg, llm, chat):
    say(tg, chat, "/resume No such thing")
    [reply] = wait_count(tg, chat, 1)
    assert reply.startswith("No conversation matches “No such thing”")


def test_stop_interrupts_the_running_answer(tg, llm, chat):
    llm.script(Reply.text(" ".join(f"w{i}" for i in range(200)), delay=0.1))
    say(tg, chat, "write forever")
    tg.wait_until(lambda: len(tg.messages(chat)) == 1, TIMEOUT)  # streaming has begun
    say(tg, chat, "/stop")
    wait_text(tg, chat, 1, "⏹ Stopped.")
    assert len(tg.messages(chat)[0].text.split()) < 200


def test_stop_says_stopped_before_how_many_waiting_messages_it_dropped(tg, llm, chat):
    llm.script(Reply.text(" ".join(f"w{i}" for i in range(200)), delay=0.1))
    requests_before = len(llm.requests)
    say(tg, chat, "write forever")
    tg.wait_until(lambda: len(tg.messages(chat)) == 1, TIMEOUT)  # streaming has begun
    say(tg, chat, "and then this")
    say(tg, chat, "and that")
    say(tg, chat, "/stop")
    tg.wait_until(
        lambda: (
            any("Dropped" in t for t in texts(tg, chat)) and "Stopped" in "".join(texts(tg, chat))
        ),
        TIMEOUT,
    )
    notices = "\n".join(texts(tg, chat)[1:])
    assert notices.index("⏹ Stopped.") < notices.index("Dropped 2 waiting message(s).")
    assert len(llm.requests) == requests_before + 1, "the dropped messages never ran"


def test_help_and_unknown_commands_are_answered(tg, llm, chat):
    say(tg, chat, "/help")
    say(tg, chat, "/frobnicate")
    help_text, unknown = wait_count(tg, chat, 2)
    for command in ("/new", "/retry", "/undo", "/stop", "/compact", "/title", "/usage"):
        assert command in help_text
    assert "/model" in help_text and "/resume" in help_text
    assert unknown == "Unknown command /frobnicate. /help lists the commands."


def test_a_skill_is_invoked_by_its_slash_command(tg, llm, gateway, chat):
    skill = gateway.home / "skills" / "haiku"
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text(
        "---\nname: haiku\ndescription: Answer in a haiku.\n---\n5-7-5.\n"
    )
    llm.script(Reply.text("Old pond, frog jumps in"))
    say(tg, chat, "/haiku about frogs")
    wait_text(tg, chat, 0, "Old pond, frog jumps in")
    parts = llm.requests[-1]["messages"][-1]["content"]
    assert parts[0]["text"] == "/haiku about frogs"
    assert "5-7-5." in parts[1]["text"]


def test_memory_shows_what_the_agent_remembers(tg, llm, gateway, chat):
    from hermes_agent.memory import MemoryStore

    MemoryStore(gateway.home / "memories").add("user", "Lives in Porto.")
    say(tg, chat, "/memory")
    tg.wait_until(lambda: any("Lives in Porto." in t for t in texts(tg, chat)), TIMEOUT)
    assert "About the user [" in texts(tg, chat)[0]


def test_the_gateway_runs_the_scheduled_jobs_when_nobody_else_does(gateway):
    from hermes_state import SessionDB

    db = SessionDB(gateway.home / "state.db")
    try:
        deadline = time.monotonic() + TIMEOUT
        while db.cron_lease() is None:
            assert time.monotonic() < deadline, "the gateway did not take the lease"
            time.sleep(0.05)
        assert db.cron_lease()["pid"] == gateway.proc.pid
    finally:
        db.close()


def test_tools_lists_the_tools_and_the_mcp_servers(tg, gateway, chat):
    from hermes_agent.mcp_client.config import ServerConfig, remove_server, save_server

    env = {"HERMES_HOME": str(gateway.home)}
    save_server("notes", ServerConfig(command="/nonexistent/notes-server"), env)
    try:
        say(tg, chat, "/tools")
        tg.wait_until(lambda: any("MCP notes" in t for t in texts(tg, chat)), TIMEOUT)
        shown = texts(tg, chat)[0]
        assert "web_fetch" in shown
        assert "<b>MCP notes</b> (stdio): " in shown
    finally:
        remove_server("notes", env)


def test_cron_adds_a_job_for_this_chat_lists_runs_and_removes_it(tg, llm, gateway, chat):
    say(tg, chat, "/cron add every 2h | Check the backups")
    [added] = wait_count(tg, chat, 1)
    job_id = re.search(r"\(([0-9a-f]{12})\)", added).group(1)
    assert added.startswith(f"⏰ Scheduled <b>Check the backups</b> ({job_id}): Every 2 hours.")
    assert added.endswith(f"; answers go to telegram:{chat}.")
    db = gateway.db()
    try:
        job = db.cron_job(job_id)
    finally:
        db.close()
    assert (job["prompt"], job["deliver"], job["origin"]) == (
        "Check the backups",
        f"telegram:{chat}",
        "telegram",
    )

    say(tg, chat, "/cron")
    listing = wait_count(tg, chat, 2)[1]
    assert f"<b>{job_id}</b> Check the backups · Every 2 hours" in listing
    assert f"last: not run yet · to telegram:{chat}" in listing

    llm.script(Reply.text("Backups are fine."))
    say(tg, chat, f"/cron run {job_id[:6]}")
    assert wait_count(tg, chat, 4)[2:] == [  # delivered here, then the command's reply
        "Backups are fine.",
        f"✅ Ran <b>Check the backups</b> ({job_id}): its answer is above.",
    ]

    say(tg, chat, "/cron add every 10s | Too often")
    say(tg, chat, f"/cron remove {job_id}")
    say(tg, chat, f"/cron pause {job_id}")
    assert wait_count(tg, chat, 7)[4:] == [
        "⚠️ an interval must be at least a minute",
        f"🗑 Removed <b>Check the backups</b> ({job_id}).",
        f"⚠️ there is no scheduled job '{job_id}'",
    ]
    db = gateway.db()
    try:
        assert all(job["prompt"] != "Too often" for job in db.cron_jobs())
        assert db.cron_job(job_id) is None
    finally:
        db.close()


def test_cron_is_refused_in_a_group(tg, llm, gateway):
    group, alice = -5110, next(_chats)
    in_group(tg, group, alice, "/cron add every 1h | Post the weather")
    tg.wait_until(lambda: len(texts(tg, group)) >= 1, TIMEOUT)
    assert texts(tg, group) == ["Scheduled jobs are managed in a private chat."]
    db = gateway.db()
    try:
        assert all(job["prompt"] != "Post the weather" for job in db.cron_jobs())
    finally:
        db.close()


# -- access -----------------------------------------------------------------------------------


def test_an_unknown_user_gets_one_polite_refusal_and_nothing_else(tg, llm, chat):
    requests_before = len(llm.requests)
    tg.push_message(STRANGER, STRANGER, "hello?")
    tg.push_message(STRANGER, STRANGER, "hello??")
    tg.push_message(STRANGER, STRANGER, "/help")
    say(tg, chat, "/help")  # handled after the stranger's messages
    wait_count(tg, chat, 1)
    [refusal] = texts(tg, STRANGER)
    assert refusal.startswith("Sorry, this Hermes is private")
    assert len(llm.requests) == requests_before


def test_a_pairing_code_lets_one_new_user_in(tg, llm, gateway):
    newcomer, latecomer = 7001, 7002
    result = gateway.hermes("gateway", "pair", "--platform", "telegram")
    assert result.returncode == 0, result.stderr
    code = result.stdout.split("Pairing code: ")[1].split()[0]
    llm.script(Reply.text("welcome aboard"))
    tg.push_message(newcomer, newcomer, f"/pair {code}")
    tg.wait_until(lambda: texts(tg, newcomer) and texts(tg, newcomer)[0].startswith("✅ Paired"))
    tg.push_message(newcomer, newcomer, "hello")
    tg.wait_until(lambda: texts(tg, newcomer)[-1:] == ["welcome aboard"], TIMEOUT)
    tg.push_message(latecomer, latecomer, code.lower())  # used up: one code, one person
    tg.wait_until(lambda: texts(tg, latecomer), TIMEOUT)
    assert texts(tg, latecomer)[0].startswith("Sorry, this Hermes is private")


# -- approvals --------------------------------------------------------------------------------


def _approval_message(tg: FakeTelegram, chat: int) -> Any:
    tg.wait_until(lambda: any(m.reply_markup for m in tg.messages(chat)), TIMEOUT)
    return next(m for m in tg.messages(chat) if m.reply_markup)


def _button(message: Any, label: str) -> str:
    buttons = [b for row in message.reply_markup["inline_keyboard"] for b in row]
    return next(b["callback_data"] for b in buttons if b["text"] == label)


@pytest.mark.parametrize(
    "button",
    [("Allow once", True, "✅ Allowed once"), ("Deny", False, "❌ Denied")],
    ids=["allowed", "denied"],
)
def test_an_approval_button_runs_or_denies_the_command(tg, llm, chat, gateway, button):
    label, runs, outcome = button
    target = f"approved-{chat}.txt"
    llm.script(
        Reply.tool_calls([("terminal", {"command": f"touch {target}"})]),
        Reply.text("All done."),
    )
    say(tg, chat, "create the file")
    question = _approval_message(tg, chat)
    assert f"touch {target}" in question.text
    tg.push_callback(chat, chat, _button(question, label), question.message_id)
    tg.wait_until(lambda: texts(tg, chat)[-1:] == ["All done."], TIMEOUT)
    assert (gateway.workspace / target).exists() is runs
    settled = next(m for m in tg.messages(chat) if m.message_id == question.message_id)
    assert settled.text.startswith(outcome)
    assert not settled.reply_markup
    assert tg.callback_answers()[-1]["text"] == outcome
    tool_result = next(m for m in llm.requests[-1]["messages"] if m["role"] == "tool")
    assert ("denied" in tool_result["content"]) is not runs


def test_someone_else_cannot_press_an_approval_button(tg, llm, chat, gateway):
    llm.script(Reply.tool_calls([("terminal", {"command": "touch never.txt"})]))
    say(tg, chat, "create never.txt")
    question = _approval_message(tg, chat)
    answers = len(tg.callback_answers())
    tg.push_callback(chat, STRANGER, _button(question, "Allow once"), question.message_id)
    tg.wait_until(lambda: len(tg.callback_answers()) > answers, TIMEOUT)
    assert "not for you" in tg.callback_answers()[-1]["text"]
    say(tg, chat, "/stop")
    tg.wait_until(lambda: texts(tg, chat)[-1:] == ["⏹ Stopped."], TIMEOUT)
    assert not (gateway.workspace / "never.txt").exists()
    settled = next(m for m in tg.messages(chat) if m.message_id == question.message_id)
    assert settled.text.startswith("❌ Denied")


def test_the_commands_are_registered_for_telegrams_command_menu(tg):
    menu = tg.commands()
    assert [item["command"] for item in menu] == [
        "new",
        "retry",
        "undo",
        "stop",
        "branch",
        "compact",
        "title",
        "usage",
        "memory",
        "tools",
        "cron",
        "model",
        "resume",
        "help",
    ]
    assert all(0 < len(item["description"]) <= 256 for item in menu)
    assert menu[0]["description"].startswith("Start a new conversation")


def test_a_command_menu_telegram_refuses_is_logged_and_the_gateway_answers_anyway(tmp_path):
    with FakeTelegram() as bot, FakeOpenAI() as model:
        bot.fail_next("setMyCommands", status=400, description="Bad Request: BOT_COMMAND_INVALID")
        model.script(Reply.text("Still here."))
        gateway = GatewayProcess(
            tmp_path, model, bot, HERMES_TELEGRAM_ALLOWED_USERS=str(ALLOWED.start)
        ).start()
        try:
            say(bot, ALLOWED.start, "Hello?")
            assert wait_count(bot, ALLOWED.start, 1) == ["Still here."]
            logged = gateway.log().lower()
            assert "command menu" in logged and "bot_command_invalid" in logged
        finally:
            assert gateway.stop() == 0, gateway.log()


def test_with_group_mode_all_every_group_message_is_answered(tmp_path):
    group, member = -6000, ALLOWED.start
    with FakeTelegram() as bot, FakeOpenAI() as model:
        model.script(Reply.text("I read everything."))
        gateway = GatewayProcess(
            tmp_path,
            model,
            bot,
            HERMES_TELEGRAM_ALLOWED_USERS=str(member),
            HERMES_TELEGRAM_GROUP_MODE="all",
        ).start()
        try:
            bot.push_message(group, member, "/help@some_other_bot", chat_type="group")
            bot.push_message(group, member, "lunch at noon?", chat_type="group")
            bot.wait_until(lambda: texts(bot, group), TIMEOUT)
            assert texts(bot, group) == ["I read everything."]
            assert user_messages(model.requests[-1]) == ["lunch at noon?"]
        finally:
            assert gateway.stop() == 0, gateway.log()


def test_the_gateway_records_its_sessions_with_source_telegram(tg, llm, chat, gateway):
    llm.script(Reply.text("recorded"))
    say(tg, chat, "record this")
    wait_text(tg, chat, 0, "recorded")
    [session] = session_of(gateway, chat)
    assert session["source"] == "telegram"
    assert session["title"] == "record this"
    assert Path(gateway.home / "gateway" / "sessions.json").exists()


def test_compact_summarises_the_middle_and_goes_on_in_a_child_session(tg, llm, chat, gateway):
    llm.script(*(Reply.text(f"answer {i}") for i in range(4)))
    for i in range(4):
        say(tg, chat, f"question {i}")
        wait_text(tg, chat, i, f"answer {i}")
    llm.script(Reply.text("They asked four questions."), Reply.text("after the summary"))
    say(tg, chat, "/compact")
    wait_text(tg, chat, 4, "🗜 Compressed the conversation: 8 messages → 7.")
    say(tg, chat, "and now?")
    wait_text(tg, chat, 5, "after the summary")
    [parent] = session_of(gateway, chat)
    assert parent["end_reason"] == "compression"
    db = gateway.db()
    try:
        [child] = [
            row
            for row in db.list_sessions_rich(source="telegram", limit=1000, include_children=True)
            if row["parent_session_id"] == parent["id"]
        ]
    finally:
        db.close()
    assert transcript(gateway, child["id"])[-2:] == [
        ("user", "and now?"),
        ("assistant", "after the summary"),
    ]
    sent = user_messages(llm.requests[-1])
    assert any("They asked four questions." in text for text in sent)
    assert "question 1" not in sent


def test_compact_of_a_short_conversation_changes_nothing(tg, llm, chat):
    llm.script(Reply.text("hi"))
    say(tg, chat, "hello")
    wait_text(tg, chat, 0, "hi")
    say(tg, chat, "/compact")
    wait_text(tg, chat, 1, "Nothing to compress: the conversation is still short.")


def test_model_switches_the_model_of_this_conversation_only(tg, llm, chat):
    llm.script(Reply.text("from the other model"))
    say(tg, chat, "/model")
    wait_text(tg, chat, 0, "Model: fake-model. /model NAME switches this conversation.")
    say(tg, chat, "/model other-model")
    wait_text(tg, chat, 1, "Model switched to other-model for this conversation.")
    say(tg, chat, "hello")
    wait_text(tg, chat, 2, "from the other model")
    assert llm.requests[-1]["model"] == "other-model"


def test_a_webhook_left_on_the_bot_is_removed_at_start_so_messages_arrive(tmp_path):
    with FakeTelegram() as bot, FakeOpenAI() as model:
        bot.api.webhook_url = "https://old-deployment.example/hook"
        model.script(Reply.text("Polling works."))
        gateway = GatewayProcess(
            tmp_path, model, bot, HERMES_TELEGRAM_ALLOWED_USERS=str(ALLOWED.start)
        ).start()
        try:
            say(bot, ALLOWED.start, "Anyone there?")
            assert wait_count(bot, ALLOWED.start, 1) == ["Polling works."]
            assert bot.api.webhook_url == ""
            assert "https://old-deployment.example/hook" in gateway.log()
        finally:
            assert gateway.stop() == 0, gateway.log()


def test_a_second_gateway_on_the_same_home_is_refused_saying_why(tmp_path):
    with FakeTelegram() as bot, FakeOpenAI() as model:
        first = GatewayProcess(tmp_path, model, bot, HERMES_TELEGRAM_ALLOWED_USERS="100").start()
        try:
            second = first.run_to_exit()
            assert second.returncode == 1, second.stderr
            assert "another hermes gateway" in second.stderr
            assert f"pid {first.proc.pid}" in second.stderr
            assert "Traceback" not in second.stderr

            model.script(Reply.text("Only one of us answers."))
            say(bot, 100, "Hello?")
            assert wait_count(bot, 100, 1) == ["Only one of us answers."]
        finally:
            assert first.stop() == 0, first.log()
