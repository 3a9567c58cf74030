"""`delegate_task`: a sub-agent with a fresh history, a subset of the tools and bounded depth
and iterations, recorded in state.db as its own session linked by `delegated_from`.

The parent and its sub-agents talk to one scripted OpenAI-compatible server through the real
provider, so the requests show exactly what each agent was offered and saw.
"""

from __future__ import annotations

import threading
import time

import pytest

from hermes_agent import AIAgent
from hermes_agent.delegation import DelegationLimits
from hermes_agent.providers.openai_compat import OpenAICompatProvider
from hermes_agent.settings import Settings
from hermes_agent.tools.approval import ApprovalPolicy
from hermes_agent.tools.registry import tools_named
from hermes_state import SessionDB
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.fakes.turn_events import RecordingEvents
from tests.support import BUILTIN_TOOLS

SESSION_LINE = "[sub-agent session: "


@pytest.fixture
def fake():
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def db(tmp_path):
    store = SessionDB(db_path=tmp_path / "state.db")
    yield store
    store.close()


@pytest.fixture
def workspace(tmp_path):
    path = tmp_path / "ws"
    path.mkdir()
    return path


def provider_for(fake) -> OpenAICompatProvider:
    return OpenAICompatProvider(fake.base_url, "test-key", timeout=10, max_retries=0)


def make_agent(fake, workspace, db=None, **kwargs) -> AIAgent:
    kwargs.setdefault("tools", tools_named(BUILTIN_TOOLS))
    kwargs.setdefault("approval", ApprovalPolicy("off"))
    return AIAgent(
        provider_for(fake), model="fake-model", workspace=workspace, session_db=db, **kwargs
    )


def delegate(task: str, **extra) -> Reply:
    return Reply.tool_calls([("delegate_task", {"task": task, **extra})])


def offered(fake, index: int) -> list[str]:
    return [tool["function"]["name"] for tool in fake.requests[index].get("tools") or ()]


def tool_results(result) -> list[dict]:
    return [m for m in result.new_messages if m["role"] == "tool"]


def child_session_of(text: str) -> str:
    last = text.rstrip().splitlines()[-1]
    assert last.startswith(SESSION_LINE) and last.endswith("]"), text
    return last[len(SESSION_LINE) : -1]


# -- the round trip ----------------------------------------------------------------------------


def test_the_sub_agent_works_from_a_fresh_history_and_its_answer_is_the_tool_result(
    fake, workspace, db
):
    fake.script(
        delegate("Write hello.txt saying hi, then say what it holds.", context="Plain text."),
        Reply.tool_calls([("write_file", {"path": "hello.txt", "content": "hi"})]),
        Reply.text("hello.txt holds **hi**."),
        Reply.text("The sub-agent wrote hello.txt."),
    )
    agent = make_agent(fake, workspace, db, platform="telegram")
    history = [
        {"role": "user", "content": "an earlier secret question"},
        {"role": "assistant", "content": "an earlier answer"},
    ]

    result = agent.run_conversation("Please delegate it.", conversation_history=history)

    assert result.final_response == "The sub-agent wrote hello.txt."
    assert (workspace / "hello.txt").read_text() == "hi"
    [answer] = tool_results(result)
    assert answer["content"].startswith("Sub-agent answer:\nhello.txt holds **hi**.\n")
    assert not answer.get("_is_error")
    child_id = child_session_of(answer["content"])
    # The sub-agent saw only the task and its context, never the parent's conversation.
    child_request = fake.requests[1]["messages"]
    assert [m["role"] for m in child_request] == ["system", "user"]
    assert child_request[1]["content"] == (
        "Write hello.txt saying hi, then say what it holds.\n\nContext:\nPlain text."
    )
    assert "secret" not in str(child_request)
    assert "sub-agent" in child_request[0]["content"]
    # The parent's next request carries the answer as the delegate_task result.
    parent_sees = fake.requests[3]["messages"]
    assert parent_sees[-1]["role"] == "tool" and parent_sees[-1]["content"] == answer["content"]

    child = db.get_session(child_id)
    assert child["delegated_from"] == agent.session_id
    assert child["title"] == "↳ Write hello.txt saying hi, then say what it holds."
    assert child["parent_session_id"] is None, "parent_session_id is compression lineage"
    assert child["source"] == "telegram"
    assert child["end_reason"] == "completed"
    assert child["api_call_count"] == 2
    stored = db.get_messages(child_id)
    assert [m["role"] for m in stored] == ["user", "assistant", "tool", "assistant"]
    assert stored[-1]["content"] == "hello.txt holds **hi**."
    parent_rows = db.get_messages(agent.session_id)
    assert [m["role"] for m in parent_rows] == ["user", "assistant", "tool", "assistant"]
    assert db.get_session(agent.session_id)["delegated_from"] is None


def test_the_sub_agents_tokens_count_toward_the_delegating_turn_and_session(fake, workspace, db):
    fake.script(
        Reply.tool_calls([("delegate_task", {"task": "Count."})], usage=(100, 10)),
        Reply.tool_calls([("todo", {"todos": []})], usage=(1000, 200)),
        Reply.text("counted", usage=(2000, 300)),
        Reply.text("Done.", usage=(400, 40)),
    )
    agent = make_agent(fake, workspace, db)

    result = agent.run_conversation("delegate please")

    child_id = child_session_of(tool_results(result)[0]["content"])
    child = db.get_session(child_id)
    assert (child["input_tokens"], child["output_tokens"], child["api_call_count"]) == (
        3000,
        500,
        2,
    ), "the sub-agent's session keeps its own figures"
    usage = result.usage
    assert (usage.input_tokens, usage.output_tokens, usage.api_calls) == (3500, 550, 4)
    parent = db.get_session(agent.session_id)
    assert (parent["input_tokens"], parent["output_tokens"], parent["api_call_count"]) == (
        3500,
        550,
        4,
    )
    assert (agent.session_input_tokens, agent.session_api_calls) == (3500, 4)


def test_a_failed_sub_agents_tokens_are_counted_too(fake, workspace):
    fake.script(
        delegate("Loop."),
        *[Reply.tool_calls([("todo", {"todos": []})], usage=(50, 5)) for _ in range(2)],
        Reply.text("It ran out.", usage=(10, 1)),
    )
    agent = make_agent(fake, workspace, delegation=DelegationLimits(max_iterations=2))

    result = agent.run_conversation("delegate please")

    assert tool_results(result)[0].get("_is_error")
    assert result.usage.api_calls == 4
    assert result.usage.input_tokens >= 110, "the sub-agent's two calls are in the turn's usage"


def test_a_sub_agents_session_is_never_listed_as_a_conversation(fake, workspace, db):
    fake.script(delegate("Say ok."), Reply.text("ok"), Reply.text("Done."))
    agent = make_agent(fake, workspace, db, platform="cli")
    answer = tool_results(agent.run_conversation("delegate please"))[0]["content"]
    child_id = child_session_of(answer)

    for rows in (
        db.list_sessions_rich(),
        db.list_sessions_rich(order_by_last_active=True),
        db.list_sessions_rich(source="cli", order_by_last_active=True),
    ):
        assert [row["id"] for row in rows] == [agent.session_id]
    assert child_id in {row["id"] for row in db.list_sessions_rich(include_children=True)}
    assert db.get_messages(child_id)[-1]["content"] == "ok"
    hits = db.search_messages("ok")
    assert hits and {hit["session_id"] for hit in hits} == {agent.session_id}, (
        "search finds the sub-agent's answer in the conversation that delegated"
    )


def test_deleting_a_conversation_deletes_its_sub_agents_sessions(db):
    db.create_session("top", "cli")
    db.create_session("sub", "cli", delegated_from="top")
    db.create_session("subsub", "cli", delegated_from="sub")
    db.create_session("sub-continued", "cli", parent_session_id="sub")
    db.create_session("top-continued", "cli", parent_session_id="top")
    db.create_session("elsewhere", "cli")
    for sid in ("sub", "subsub", "sub-continued"):
        db.append_message(sid, "user", f"work of {sid}")

    assert db.delete_session("top")

    for sid in ("top", "sub", "subsub", "sub-continued"):
        assert db.get_session(sid) is None, sid
    assert db.search_messages("work") == []
    assert db.get_session("top-continued")["parent_session_id"] is None
    assert db.get_session("elsewhere") is not None


# -- limits ------------------------------------------------------------------------------------


def test_a_sub_agent_at_the_maximum_depth_is_not_offered_delegate_task(fake, workspace, db):
    fake.script(
        delegate("Level one: hand the rest on."),
        delegate("Level two: answer."),
        Reply.text("deepest answer"),
        Reply.text("middle answer"),
        Reply.text("top answer"),
    )
    agent = make_agent(fake, workspace, db, delegation=DelegationLimits(max_depth=2))

    result = agent.run_conversation("go deep")

    assert result.final_response == "top answer"
    assert "delegate_task" in offered(fake, 0), "depth 0 may delegate"
    assert "delegate_task" in offered(fake, 1), "depth 1 may delegate"
    assert "delegate_task" not in offered(fake, 2), "depth 2 is the limit"
    assert "read_file" in offered(fake, 2)
    middle_id = child_session_of(tool_results(result)[0]["content"])
    every = db.list_sessions_rich(include_children=True)
    [deepest] = [row for row in every if row["delegated_from"] == middle_id]
    assert db.get_session(middle_id)["delegated_from"] == agent.session_id
    assert [m["content"] for m in db.get_messages(deepest["id"])][-1] == "deepest answer"


def test_naming_delegate_task_for_a_sub_agent_at_the_maximum_depth_is_an_error(fake, workspace):
    fake.script(
        delegate("Nest.", tools=["read_file", "delegate_task"]),
        Reply.text("Understood."),
    )
    agent = make_agent(fake, workspace, delegation=DelegationLimits(max_depth=1))

    result = agent.run_conversation("nest")

    [refusal] = tool_results(result)
    assert refusal["_is_error"] is True
    assert "delegate_task cannot be passed on" in refusal["content"]
    assert len(fake.requests) == 2, "no sub-agent ran"


@pytest.mark.parametrize("depth_limit", [0, 1])
def test_the_depth_setting_bounds_delegation_and_zero_turns_it_off(fake, workspace, depth_limit):
    settings = Settings(provider="openai", delegate_max_depth=depth_limit)
    if depth_limit == 0:
        fake.script(Reply.text("No delegation here."))
    else:
        fake.script(delegate("Answer."), Reply.text("child"), Reply.text("parent"))
    agent = AIAgent.from_settings(
        settings, provider=provider_for(fake), model="fake-model", workspace=workspace
    )

    agent.run_conversation("hello")

    assert ("delegate_task" in offered(fake, 0)) is (depth_limit > 0)
    assert "read_file" in offered(fake, 0)
    if depth_limit == 1:
        assert "delegate_task" not in offered(fake, 1)
        assert "read_file" in offered(fake, 1)


def test_the_named_tools_are_all_the_sub_agent_is_offered(fake, workspace):
    fake.script(
        delegate("Look around.", tools=["list_dir", "read_file"]),
        Reply.text("Nothing much."),
        Reply.text("Done."),
    )
    make_agent(fake, workspace).run_conversation("look")

    assert offered(fake, 1) == ["list_dir", "read_file"]


def test_a_sub_agent_cannot_run_a_tool_it_was_not_given(fake, workspace):
    fake.script(
        delegate("Make a file.", tools=["read_file"]),
        Reply.tool_calls([("write_file", {"path": "sneaky.txt", "content": "x"})]),
        Reply.text("I could not."),
        Reply.text("Done."),
    )
    make_agent(fake, workspace).run_conversation("try")

    assert not (workspace / "sneaky.txt").exists()
    refused = fake.requests[2]["messages"][-1]
    assert refused["role"] == "tool" and "no tool named 'write_file'" in refused["content"]


@pytest.mark.parametrize("name", ["rm_everything", "terminal"])
def test_a_tool_name_the_parent_was_not_offered_is_a_clear_error(fake, workspace, name):
    fake.script(delegate("Do it.", tools=["read_file", name]), Reply.text("Understood."))
    tools = tools_named(["delegate_task", "read_file", "list_dir"])  # no terminal here
    result = make_agent(fake, workspace, tools=tools).run_conversation("do it")

    [refusal] = tool_results(result)
    assert refusal["_is_error"] is True
    assert refusal["content"].startswith(f"Error: not among your tools: {name} ")
    assert "delegate_task, read_file, list_dir" in refusal["content"]
    assert len(fake.requests) == 2, "no sub-agent ran"


def test_a_sub_agent_that_spends_its_iterations_comes_back_as_an_error(fake, workspace, db):
    busy = Reply.tool_calls([("list_dir", {"path": "."})])
    fake.script(delegate("Loop."), busy, busy, Reply.text("It ran out."))
    agent = make_agent(fake, workspace, db, delegation=DelegationLimits(max_iterations=2))

    result = agent.run_conversation("loop")

    assert len(fake.requests) == 4, "two model calls for the sub-agent, then the parent"
    [failure] = tool_results(result)
    assert failure["_is_error"] is True
    assert failure["content"].startswith("Error: the sub-agent used all 2 of its model calls")
    child_id = child_session_of(failure["content"])
    assert db.get_session(child_id)["end_reason"] == "max_iterations"
    assert result.final_response == "It ran out."


def test_a_sub_agent_never_gets_more_iterations_than_its_parent(fake, workspace):
    busy = Reply.tool_calls([("list_dir", {"path": "."})])
    fake.script(delegate("Loop."), busy, busy, busy, Reply.text("Stopped."))
    agent = make_agent(
        fake, workspace, max_iterations=3, delegation=DelegationLimits(max_iterations=15)
    )

    result = agent.run_conversation("loop")

    [failure] = tool_results(result)
    assert "used all 3 of its model calls" in failure["content"]
    assert len(fake.requests) == 5


def test_a_failed_sub_agent_is_an_error_the_model_reads(fake, workspace):
    fake.script(delegate("Fail."), Reply.error(500, "upstream exploded"), Reply.text("Noted."))
    result = make_agent(fake, workspace).run_conversation("fail")

    [failure] = tool_results(result)
    assert failure["_is_error"] is True
    assert failure["content"].startswith("Error: the sub-agent failed: ")
    assert SESSION_LINE in failure["content"]
    assert result.final_response == "Noted."


# -- interruption and approvals ----------------------------------------------------------------


@pytest.mark.parametrize(
    "child_reply",
    [
        Reply.hang(seconds=30),
        Reply.tool_calls([("terminal", {"command": "sleep 30; touch finished"})]),
    ],
    ids=["silent-provider", "running-command"],
)
def test_interrupting_the_parent_stops_the_sub_agent_promptly(fake, workspace, db, child_reply):
    fake.script(delegate("Take your time."), child_reply)
    agent = make_agent(fake, workspace, db)

    def interrupt_once_the_child_works() -> None:
        deadline = time.monotonic() + 10
        while len(fake.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.5)
        agent.interrupt()

    threading.Thread(target=interrupt_once_the_child_works, daemon=True).start()
    began = time.monotonic()
    result = agent.run_conversation("slow work")

    assert time.monotonic() - began < 5
    assert result.interrupted is True
    [stopped] = tool_results(result)
    assert stopped["_is_error"] is True
    assert "the sub-agent was interrupted" in stopped["content"]
    assert db.get_session(child_session_of(stopped["content"]))["end_reason"] == "interrupted"
    assert len(fake.requests) == 2, "neither agent called the model again"
    time.sleep(0.3)
    assert not (workspace / "finished").exists()


def test_the_sub_agent_asks_the_user_like_its_parent_and_keeps_session_approvals_to_itself(
    fake, workspace
):
    command = "touch made-here"
    fake.script(
        delegate("Make the file."),
        Reply.tool_calls([("terminal", {"command": command})]),
        Reply.tool_calls([("terminal", {"command": command})]),
        Reply.text("Made it."),
        Reply.tool_calls([("terminal", {"command": command})]),
        Reply.text("Made it again."),
    )
    events = RecordingEvents(approval="session")
    agent = make_agent(fake, workspace, approval=ApprovalPolicy("ask", ()))

    result = agent.run_conversation("make it", events=events)

    assert result.final_response == "Made it again."
    assert (workspace / "made-here").exists()
    asked = [request for request, _ in events.approvals]
    assert asked == [command, command], "asked once for the sub-agent, once for the parent"
    assert command in agent.tool_context.session_approved


def test_the_parents_session_approvals_hold_for_its_sub_agent(fake, workspace):
    command = "touch approved-before"
    fake.script(
        delegate("Make the file."),
        Reply.tool_calls([("terminal", {"command": command})]),
        Reply.text("Made it."),
        Reply.text("Done."),
    )
    events = RecordingEvents(approval="deny")
    agent = make_agent(fake, workspace, approval=ApprovalPolicy("ask", ()))
    agent.tool_context.session_approved.add(command)

    agent.run_conversation("make it", events=events)

    assert events.approvals == []
    assert (workspace / "approved-before").exists()
