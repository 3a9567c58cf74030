"""The Anthropic provider through the real ``anthropic`` SDK against a scripted Messages API.

Everything goes over real sockets: the provider builds the request, the SDK sends it and parses
the named SSE events, and the fake answers (or refuses, hangs, or drops) the way the real API
does.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from hermes_agent import AIAgent
from hermes_agent.errors import ContextLengthExceeded, ProviderError
from hermes_agent.providers.anthropic import AnthropicProvider
from hermes_agent.providers.base import (
    ChatRequest,
    Done,
    Event,
    ReasoningDelta,
    TextDelta,
    ToolCall,
    Usage,
)
from hermes_agent.tools.registry import tools_named
from tests.fakes.anthropic_server import AnthropicReply, FakeAnthropic
from tests.fakes.turn_events import RecordingEvents
from tests.support import free_port

MODEL = "claude-test"
USER = [{"role": "user", "content": "Say hello"}]
READ_TOOL = {
    "type": "function",
    "function": {
        "name": "read_file",
        "description": "Read a file",
        "parameters": {
            "type": "object",
            "properties": {"path": {"type": "string"}},
            "required": ["path"],
        },
    },
}


@pytest.fixture(autouse=True)
def cleanup_test_sessions():
    """Replace conftest's autouse fixture of this name, which starts the project's server.

    These tests need only the fake, so they neither start that server nor wait for it.
    """
    return []


@pytest.fixture
def fake():
    with FakeAnthropic() as server:
        yield server


def provider_for(fake: FakeAnthropic, **options) -> AnthropicProvider:
    options.setdefault("timeout", 5.0)
    return AnthropicProvider(api_key="test", base_url=fake.base_url, max_retries=0, **options)


def request(messages=None, **fields) -> ChatRequest:
    return ChatRequest(model=MODEL, messages=USER if messages is None else messages, **fields)


def stream(provider: AnthropicProvider, messages=None, **fields) -> list[Event]:
    return list(provider.stream(request(messages, **fields), threading.Event()))


def failure(provider: AnthropicProvider, messages=None, **fields) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        stream(provider, messages, **fields)
    return caught.value


def text_of(events: list[Event]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


# ----- what comes back ---------------------------------------------------------------------


def test_text_streams_as_ordered_deltas_followed_by_usage_and_done(fake):
    fake.script(AnthropicReply.text("Hello there, traveller.", usage=(42, 7)))
    events = stream(provider_for(fake))
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 1, "the answer arrives in pieces, not as one block"
    assert text_of(events) == "Hello there, traveller."
    assert events[: len(deltas)] == deltas
    assert events[len(deltas) :] == [Usage(42, 7, 0, 0), Done("stop")]


def test_thinking_arrives_as_reasoning_deltas_before_the_answer(fake):
    fake.script(AnthropicReply.text("It is 4.", thinking="Two plus two, carry none."))
    events = stream(provider_for(fake))
    reasoning = [e for e in events if isinstance(e, ReasoningDelta)]
    assert "".join(e.text for e in reasoning) == "Two plus two, carry none."
    assert len(reasoning) > 1
    assert text_of(events) == "It is 4."
    first_text = next(i for i, e in enumerate(events) if isinstance(e, TextDelta))
    assert all(events.index(e) < first_text for e in reasoning)


def test_tool_use_blocks_become_tool_calls_with_their_ids_and_reassembled_input(fake):
    query = {"path": "docs/notes.md", "options": {"lines": [1, 20], "strict": True}}
    fake.script(
        AnthropicReply.tool_use(
            [("read_file", query), ("list_dir", {})], content="Let me look at that."
        )
    )
    events = stream(provider_for(fake), tools=[READ_TOOL])
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert [(c.id, c.name) for c in calls] == [
        ("toolu_fake1", "read_file"),
        ("toolu_fake2", "list_dir"),
    ]
    assert json.loads(calls[0].arguments) == query
    assert json.loads(calls[1].arguments) == {}
    assert text_of(events) == "Let me look at that."
    assert events[-1] == Done("tool_calls")


def test_usage_reports_input_output_and_prompt_cache_tokens(fake):
    fake.script(AnthropicReply.text("Cached.", usage=(12, 3), cache_read=900, cache_creation=150))
    usage = next(e for e in stream(provider_for(fake)) if isinstance(e, Usage))
    assert usage == Usage(
        input_tokens=12, output_tokens=3, cache_read_tokens=900, cache_write_tokens=150
    )


@pytest.mark.parametrize(
    ("reply", "finish"),
    [
        (AnthropicReply.text("Done."), "stop"),
        (AnthropicReply.text("The list goes on and", stop_reason="max_tokens"), "length"),
        (AnthropicReply.tool_use([("read_file", {"path": "a"})]), "tool_calls"),
    ],
    ids=["end_turn", "max_tokens", "tool_use"],
)
def test_stop_reasons_map_to_openai_finish_reasons(fake, reply, finish):
    fake.script(reply)
    assert stream(provider_for(fake), tools=[READ_TOOL])[-1] == Done(finish)


# ----- what is sent ------------------------------------------------------------------------


def test_openai_history_is_sent_as_anthropic_messages_with_a_separate_system_prompt(fake):
    history = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "What is in a.txt and b.txt?"},
        {
            "role": "assistant",
            "content": "Reading both.",
            "tool_calls": [
                {
                    "id": "toolu_a",
                    "type": "function",
                    "function": {"name": "read_file", "arguments": '{"path": "a.txt"}'},
                },
                {
                    "id": "toolu_b",
                    "type": "function",
                    "function": {"name": "read_file", "arguments": '{"path": "b.txt"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "toolu_a", "name": "read_file", "content": "alpha"},
        {"role": "tool", "tool_call_id": "toolu_b", "name": "read_file", "content": "beta"},
        {"role": "assistant", "content": "a says alpha, b says beta."},
        {"role": "system", "content": "Answer in English."},
        {"role": "user", "content": "Thanks."},
    ]
    fake.script(AnthropicReply.text("You're welcome."))
    events = stream(provider_for(fake), history, tools=[READ_TOOL], temperature=0.2)
    assert text_of(events) == "You're welcome."
    [body] = fake.requests
    assert body["model"] == MODEL
    assert body["stream"] is True
    assert body["max_tokens"] > 0
    assert body["temperature"] == 0.2
    assert body["system"] == "You are terse.\n\nAnswer in English."
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "What is in a.txt and b.txt?"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Reading both."},
                {
                    "type": "tool_use",
                    "id": "toolu_a",
                    "name": "read_file",
                    "input": {"path": "a.txt"},
                },
                {
                    "type": "tool_use",
                    "id": "toolu_b",
                    "name": "read_file",
                    "input": {"path": "b.txt"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_a", "content": "alpha"},
                {"type": "tool_result", "tool_use_id": "toolu_b", "content": "beta"},
            ],
        },
        {"role": "assistant", "content": [{"type": "text", "text": "a says alpha, b says beta."}]},
        {"role": "user", "content": [{"type": "text", "text": "Thanks."}]},
    ]


def test_tools_are_sent_with_their_parameters_as_input_schema(fake):
    fake.script(AnthropicReply.text("Ok."))
    stream(provider_for(fake), tools=[READ_TOOL])
    assert fake.requests[0]["tools"] == [
        {
            "name": "read_file",
            "description": "Read a file",
            "input_schema": READ_TOOL["function"]["parameters"],
        }
    ]


def test_consecutive_turns_of_one_role_are_merged_into_one_message(fake):
    history = [
        {"role": "user", "content": "First thought."},
        {"role": "user", "content": "Second thought."},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "toolu_x",
                    "type": "function",
                    "function": {"name": "read_file", "arguments": '{"path": "x"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "toolu_x", "content": "ex"},
        {"role": "user", "content": "And now?"},
    ]
    fake.script(AnthropicReply.text("Now this."))
    stream(provider_for(fake), history, tools=[READ_TOOL])
    messages = fake.requests[0]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[0]["content"] == [
        {"type": "text", "text": "First thought."},
        {"type": "text", "text": "Second thought."},
    ]
    assert messages[1]["content"] == [
        {"type": "tool_use", "id": "toolu_x", "name": "read_file", "input": {"path": "x"}}
    ], "an empty text beside a tool call is left out"
    assert messages[2]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_x", "content": "ex"},
        {"type": "text", "text": "And now?"},
    ]


def test_max_tokens_is_always_sent_and_the_requested_limit_wins(fake):
    fake.script(AnthropicReply.text("One."), AnthropicReply.text("Two."))
    provider = provider_for(fake)
    stream(provider)
    stream(provider, max_tokens=123)
    first, second = fake.requests
    assert isinstance(first["max_tokens"], int) and first["max_tokens"] > 0
    assert second["max_tokens"] == 123


def test_an_empty_assistant_turn_in_history_is_left_out_so_the_api_accepts_it(fake):
    history = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": "Hello?"},
    ]
    fake.script(AnthropicReply.text("Sorry, hello."))
    assert text_of(stream(provider_for(fake), history)) == "Sorry, hello."
    assert fake.requests[0]["messages"] == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "Hello?"}],
        }
    ]


def test_tool_arguments_that_are_not_a_json_object_are_sent_as_empty_input(fake):
    history = [
        {"role": "user", "content": "Go"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"id": "t1", "type": "function", "function": {"name": "a", "arguments": "{oops"}},
                {"id": "t2", "type": "function", "function": {"name": "b", "arguments": "[1, 2]"}},
            ],
        },
        {"role": "tool", "tool_call_id": "t1", "content": "Error: bad arguments"},
        {"role": "tool", "tool_call_id": "t2", "content": "Error: bad arguments"},
    ]
    fake.script(AnthropicReply.text("Let me retry."))
    assert text_of(stream(provider_for(fake), history)) == "Let me retry."
    inputs = [b["input"] for b in fake.requests[0]["messages"][1]["content"]]
    assert inputs == [{}, {}]


# ----- failures ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "message", "kind"),
    [
        (400, "messages.0.content: Field required", "bad_request"),
        (401, "invalid x-api-key", "auth"),
        (403, "Your API key does not have permission to use the specified resource.", "auth"),
        (404, "model: claude-nope", "not_found"),
        (429, "Number of request tokens has exceeded your per-minute rate limit", "rate_limit"),
        (400, "Your credit balance is too low to access the Anthropic API.", "quota"),
        (500, "Internal server error", "server"),
        (529, "Overloaded", "server"),
    ],
)
def test_api_errors_become_provider_errors_of_the_matching_kind(fake, status, message, kind):
    fake.script(AnthropicReply.error(status, message))
    error = failure(provider_for(fake))
    assert not isinstance(error, ContextLengthExceeded)
    assert (error.kind, error.status_code) == (kind, status)
    assert str(error) == f"{status} {message}", "the API's own explanation, not a body dump"
    assert len(fake.requests) == 1


def test_a_history_the_api_refuses_is_a_bad_request_with_the_apis_explanation(fake):
    orphan_result = [
        {"role": "user", "content": "Go on"},
        {"role": "tool", "tool_call_id": "toolu_lost", "content": "output of a forgotten call"},
    ]
    fake.script(AnthropicReply.text("Never sent."))
    error = failure(provider_for(fake), orphan_result)
    assert (error.kind, error.status_code) == ("bad_request", 400)
    assert "unexpected `tool_use_id`" in str(error) and "toolu_lost" in str(error)
    assert fake.pending == 1, "a refused request consumes no scripted reply"


def test_a_prompt_that_is_too_long_raises_context_length_exceeded(fake):
    fake.script(AnthropicReply.error(400, "prompt is too long: 212345 tokens > 200000 maximum"))
    error = failure(provider_for(fake))
    assert isinstance(error, ContextLengthExceeded)
    assert (error.kind, error.status_code) == ("context_length", 400)
    assert "212345 tokens" in str(error)


def test_an_overload_in_the_middle_of_a_stream_is_a_server_error(fake):
    fake.script(AnthropicReply.stream_error("Overloaded", after="Partial answer"))
    received: list[Event] = []
    with pytest.raises(ProviderError) as caught:
        for event in provider_for(fake).stream(request(), threading.Event()):
            received.append(event)
    assert caught.value.kind == "server"
    assert "Overloaded" in str(caught.value)
    assert text_of(received) == "Partial answer"
    assert not any(isinstance(e, Done) for e in received)


def test_a_provider_that_never_answers_times_out(fake):
    fake.script(AnthropicReply.hang(10))
    started = time.monotonic()
    error = failure(provider_for(fake, timeout=0.5))
    assert error.kind == "timeout"
    assert time.monotonic() - started < 5


def test_a_stream_that_stalls_after_starting_times_out(fake):
    fake.script(AnthropicReply.text("Slow words that never finish arriving", delay=3.0))
    error = failure(provider_for(fake, timeout=0.5))
    assert error.kind == "timeout"


def test_a_connection_dropped_mid_stream_is_a_connection_error_after_the_partial_text(fake):
    fake.script(AnthropicReply.disconnect("The first half of"))
    received: list[Event] = []
    with pytest.raises(ProviderError) as caught:
        for event in provider_for(fake).stream(request(), threading.Event()):
            received.append(event)
    assert caught.value.kind == "connection"
    assert text_of(received) == "The first half of"
    assert not any(isinstance(e, (Usage, Done)) for e in received)


def test_an_unreachable_endpoint_is_a_connection_error():
    provider = AnthropicProvider(
        api_key="test", base_url=f"http://127.0.0.1:{free_port()}", max_retries=0, timeout=2
    )
    assert failure(provider).kind == "connection"


@pytest.mark.parametrize("api_key", [None, ""])
def test_a_missing_api_key_fails_with_auth_before_any_request(fake, api_key):
    with pytest.raises(ProviderError) as caught:
        AnthropicProvider(api_key=api_key, base_url=fake.base_url, max_retries=0)
    assert caught.value.kind == "auth"
    assert "ANTHROPIC_API_KEY" in str(caught.value)
    assert fake.requests == []


def test_cancelling_mid_stream_stops_the_events_early(fake):
    words = " ".join(f"word{n}" for n in range(40))
    fake.script(AnthropicReply.text(words, delay=0.02))
    cancel = threading.Event()
    received: list[Event] = []
    started = time.monotonic()
    for event in provider_for(fake).stream(request(), cancel):
        received.append(event)
        if len(received) == 3:
            cancel.set()
    assert len(received) == 3, "nothing is yielded once cancel is set"
    assert not any(isinstance(e, (Usage, Done)) for e in received)
    assert time.monotonic() - started < 0.02 * 40, "the rest of the stream is not waited for"


# ----- through the agent -------------------------------------------------------------------


def test_the_agent_completes_a_tool_round_trip_with_the_anthropic_provider(fake, tmp_path):
    (tmp_path / "notes.txt").write_text("alpha")
    fake.script(
        AnthropicReply.tool_use(
            [("read_file", {"path": "notes.txt"})], content="Reading it.", usage=(40, 10)
        ),
        AnthropicReply.text("The note says alpha.", usage=(60, 6)),
    )
    provider = provider_for(fake)
    agent = AIAgent(provider, model=MODEL, workspace=tmp_path, tools=tools_named(["read_file"]))
    events = RecordingEvents()
    result = agent.run_conversation("What does notes.txt say?", events=events)

    assert result.completed is True and result.failure is None, str(result.failure)
    assert result.final_response == "The note says alpha."
    assert events.text == "Reading it.The note says alpha."
    messages = list(result.context)
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant"]
    call = messages[1]["tool_calls"][0]
    assert call["id"] == "toolu_fake1"
    assert json.loads(call["function"]["arguments"]) == {"path": "notes.txt"}
    assert messages[2]["content"] == "alpha"
    usage = result.usage
    assert (usage.input_tokens, usage.output_tokens, usage.api_calls) == (100, 16, 2)

    first, second = fake.requests
    assert first["model"] == MODEL
    assert "Hermes" in first["system"]
    assert [t["name"] for t in first["tools"]] == ["read_file"]
    assert "input_schema" in first["tools"][0]
    assert second["messages"][1:] == [
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Reading it."},
                {
                    "type": "tool_use",
                    "id": "toolu_fake1",
                    "name": "read_file",
                    "input": {"path": "notes.txt"},
                },
            ],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_fake1", "content": "alpha"}],
        },
    ]
    assert fake.pending == 0
