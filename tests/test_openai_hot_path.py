"""The OpenAI-compatible provider's own request and stream handling, over real HTTP.

The provider sends a pre-serialised body through the SDK's client and parses the event stream
itself, so these tests pin what a real provider may send it: tool-call arguments in pieces,
a usage-only last chunk, reasoning fields, keep-alive comments, chunks without choices,
broken chunks, and characters cut in two by the network, as well as the SDK's part (bearer
auth, retries, typed errors) that the provider keeps.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import orjson
import pytest

from hermes_agent.errors import ContextLengthExceeded, ProviderError
from hermes_agent.providers.base import (
    ChatRequest,
    Done,
    Event,
    ReasoningDelta,
    TextDelta,
    ToolCall,
    Usage,
)
from hermes_agent.providers.openai_compat import OpenAICompatProvider
from hermes_agent.providers.openai_wire import read_events
from tests.fakes import FakeOpenAI, Reply
from tests.support import free_port

USER = [{"role": "user", "content": "Say hello"}]


@dataclass(frozen=True)
class RawReply(Reply):
    """A streamed answer given as the exact bytes of each network write, `[DONE]` appended."""

    frames: tuple[bytes, ...] = ()

    @classmethod
    def of(cls, *frames: bytes, delay: float = 0.0) -> RawReply:
        return cls("raw", frames=frames, delay=delay)


class RawHandler(FakeOpenAI.handler):
    answer_kinds = FakeOpenAI.handler.answer_kinds | {"raw"}

    def _answer(self, body):
        self.fake.authorizations.append(self.headers.get("Authorization"))
        super()._answer(body)

    def _stream_frames(self, turn):
        if turn.reply.kind == "raw":
            return list(turn.reply.frames)
        return super()._stream_frames(turn)


class RawFake(FakeOpenAI):
    """The scripted fake, which can also send a stream byte for byte as a test writes it."""

    handler = RawHandler

    def __init__(self) -> None:
        super().__init__()
        self.authorizations: list[str | None] = []


def chunk(delta: dict | None = None, finish: str | None = None, **fields) -> bytes:
    """One `chat.completion.chunk` event; `delta=None` gives a chunk with no choices."""
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    body = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": choices, **fields}
    return b"data: " + orjson.dumps(body) + b"\n\n"


@pytest.fixture(autouse=True)
def cleanup_test_sessions():
    """Replace conftest's autouse fixture of this name: these tests need no project server."""
    return []


@pytest.fixture
def fake():
    with RawFake() as server:
        yield server


def provider_for(fake: FakeOpenAI, **options) -> OpenAICompatProvider:
    options.setdefault("max_retries", 0)
    options.setdefault("timeout", 5.0)
    return OpenAICompatProvider(fake.base_url, "sk-test", **options)


def stream(provider: OpenAICompatProvider, model: str = "fake-model", **fields) -> list[Event]:
    request = ChatRequest(model=model, messages=fields.pop("messages", USER), **fields)
    return list(provider.stream(request, threading.Event()))


def failure(provider: OpenAICompatProvider) -> tuple[list[Event], ProviderError]:
    """The events before the stream failed, and the failure."""
    events: list[Event] = []
    request = ChatRequest(model="fake-model", messages=USER)
    with pytest.raises(ProviderError) as caught:
        for event in provider.stream(request, threading.Event()):
            events.append(event)
    return events, caught.value


def text_of(events: list[Event]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


# ----- the request --------------------------------------------------------------------------


def test_the_request_body_carries_the_messages_tools_and_options_unchanged(fake):
    fake.script(Reply.text("ok"))
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "naïve café ✓"}]},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "t", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "done"},
    ]
    tool = {"type": "function", "function": {"name": "t", "parameters": {"type": "object"}}}
    stream(provider_for(fake), messages=messages, tools=[tool], max_tokens=50, temperature=0.2)

    sent = fake.requests[0]
    assert sent["messages"] == messages
    assert sent["tools"] == [tool]
    assert (sent["model"], sent["stream"], sent["stream_options"]) == (
        "fake-model",
        True,
        {"include_usage": True},
    )
    assert (sent["max_tokens"], sent["temperature"]) == (50, 0.2)
    assert fake.authorizations == ["Bearer sk-test"]


def test_a_request_without_tools_or_limits_sends_none(fake):
    fake.script(Reply.text("ok"))
    stream(provider_for(fake))
    assert not {"tools", "max_tokens", "temperature"} & fake.requests[0].keys()


# ----- the stream ---------------------------------------------------------------------------


def test_text_reasoning_and_usage_arrive_in_order_and_end_with_done(fake):
    fake.script(Reply.text("Hello there, world", reasoning="Thinking it over", usage=(12, 5)))
    events = stream(provider_for(fake))
    reasoning = [e for e in events if isinstance(e, ReasoningDelta)]
    assert "".join(e.text for e in reasoning) == "Thinking it over"
    assert events.index(reasoning[-1]) < min(
        i for i, e in enumerate(events) if isinstance(e, TextDelta)
    )
    assert text_of(events) == "Hello there, world"
    assert events[-2:] == [Usage(input_tokens=12, output_tokens=5), Done("stop")]


def test_tool_call_arguments_in_fragments_across_chunks_are_assembled_by_index(fake):
    def call(index: int, **part) -> bytes:
        return chunk({"tool_calls": [{"index": index, **part}]})

    fake.script(
        RawReply.of(
            chunk({"role": "assistant", "content": "Let me look."}),
            call(0, id="call_a", type="function", function={"name": "read_", "arguments": ""}),
            call(0, function={"name": "file", "arguments": '{"pa'}),
            call(1, type="function", function={"name": "list_dir", "arguments": '{"path"'}),
            call(0, function={"arguments": 'th": "a.txt'}),
            call(1, function={"arguments": ': "."}'}),
            call(0, function={"arguments": '"}'}),
            chunk({}, "tool_calls"),
        )
    )
    events = stream(provider_for(fake))
    assert events == [
        TextDelta("Let me look."),
        ToolCall("call_a", "read_file", '{"path": "a.txt"}'),
        ToolCall("call_1", "list_dir", '{"path": "."}'),  # no id sent: named by its index
        Done("tool_calls"),
    ]


def test_a_usage_only_last_chunk_reports_cached_and_reasoning_tokens(fake):
    usage = {
        "prompt_tokens": 120,
        "completion_tokens": 30,
        "total_tokens": 150,
        "prompt_tokens_details": {"cached_tokens": 100},
        "completion_tokens_details": {"reasoning_tokens": 20},
    }
    fake.script(
        RawReply.of(
            chunk({"role": "assistant", "content": "Hi"}, usage=None),
            chunk({}, "stop", usage=None),
            chunk(None, usage=usage),
        )
    )
    events = stream(provider_for(fake))
    assert events == [
        TextDelta("Hi"),
        Usage(input_tokens=120, output_tokens=30, cache_read_tokens=100, reasoning_tokens=20),
        Done("stop"),
    ]


def test_null_usage_details_count_as_zero(fake):
    usage = {"prompt_tokens": 7, "completion_tokens": None, "prompt_tokens_details": None}
    fake.script(RawReply.of(chunk({"content": "Hi"}, "stop"), chunk(None, usage=usage)))
    assert stream(provider_for(fake))[-2] == Usage(input_tokens=7)


def test_reasoning_arrives_from_either_field_providers_use(fake):
    fake.script(
        RawReply.of(
            chunk({"reasoning_content": "first, "}),
            chunk({"reasoning": "then"}),
            chunk({"content": "Answer", "reasoning": None}, "stop"),
        )
    )
    assert stream(provider_for(fake)) == [
        ReasoningDelta("first, "),
        ReasoningDelta("then"),
        TextDelta("Answer"),
        Done("stop"),
    ]


def test_keep_alive_comments_other_fields_and_crlf_lines_are_skipped(fake):
    fake.script(
        RawReply.of(
            b": OPENROUTER PROCESSING\n\n",
            chunk({"content": "one"}).replace(b"\n", b"\r\n"),
            b":\n\nevent: message\nid: 7\nretry: 100\n" + chunk({"content": " two"}),
            b": keep-alive\r\n\r\n",
            chunk({}, "stop"),
        )
    )
    events = stream(provider_for(fake))
    assert events == [TextDelta("one"), TextDelta(" two"), Done("stop")]


def test_a_chunk_without_choices_mid_stream_yields_nothing(fake):
    fake.script(
        RawReply.of(
            chunk({"content": "a"}),
            chunk(None),
            b'data: {"id":"x","choices":null}\n\n',
            chunk({"content": "b"}, "length"),
        )
    )
    assert stream(provider_for(fake)) == [TextDelta("a"), TextDelta("b"), Done("length")]


def test_a_character_split_across_network_reads_arrives_whole(fake):
    whole = chunk({"content": "café ✓ 日本"}, "stop")
    cut = whole.index("é".encode()) + 1  # between the two bytes of "é"
    fake.script(RawReply.of(whole[:cut], whole[cut:], delay=0.05))
    assert text_of(stream(provider_for(fake))) == "café ✓ 日本"


def test_the_events_do_not_depend_on_how_the_network_cuts_the_stream():
    body = b"".join(
        [
            b": keep-alive\r\n\r\n",
            chunk({"reasoning_content": "hm"}),
            chunk({"content": "naïve ✓"}).replace(b"\n", b"\r"),
            chunk({"tool_calls": [{"index": 0, "id": "c", "function": {"name": "t"}}]}),
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"k": "é"}'}}]}),
            chunk({}, "tool_calls"),
            chunk(None, usage={"prompt_tokens": 3, "completion_tokens": 2}),
            b"data: [DONE]\n\n",
        ]
    )
    whole = list(read_events([body], threading.Event()))
    assert whole == [
        ReasoningDelta("hm"),
        TextDelta("naïve ✓"),
        ToolCall("c", "t", '{"k": "é"}'),
        Usage(input_tokens=3, output_tokens=2),
        Done("tool_calls"),
    ]
    for size in (1, 2, 3, 7, 64):
        pieces = [body[i : i + size] for i in range(0, len(body), size)]
        assert list(read_events(pieces, threading.Event())) == whole, size


def test_a_malformed_chunk_fails_the_stream_after_what_came_before(fake):
    fake.script(RawReply.of(chunk({"content": "Partial"}), b"data: {not json\n\n"))
    events, error = failure(provider_for(fake))
    assert events == [TextDelta("Partial")]
    assert error.kind == "server"
    assert "malformed" in error.message and "{not json" in error.message


@pytest.mark.parametrize(
    "data",
    [
        b'"a string"',
        b'{"choices": "none"}',
        b'{"choices": [{"delta": ["content"]}]}',
        b'{"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"name": 5}}]}}]}',
        b'{"choices": [], "usage": [1, 2]}',
    ],
)
def test_a_chunk_of_the_wrong_shape_is_a_provider_error_not_a_crash(fake, data):
    fake.script(RawReply.of(b"data: " + data + b"\n\n"))
    _, error = failure(provider_for(fake))
    assert error.kind == "server"
    assert "malformed" in error.message


def test_an_error_sent_mid_stream_fails_with_its_message_and_status(fake):
    fake.script(
        RawReply.of(
            chunk({"content": "Hel"}),
            b'data: {"error": {"message": "Upstream overloaded", "code": 429}}\n\n',
        ),
        RawReply.of(b'data: {"error": {"message": "Provider returned error"}}\n\n'),
        RawReply.of(b'data: {"error": {"message": "maximum context length is 8192 tokens"}}\n\n'),
    )
    provider = provider_for(fake)
    events, error = failure(provider)
    assert events == [TextDelta("Hel")]
    assert (error.kind, error.status_code) == ("rate_limit", 429)
    assert "Upstream overloaded" in error.message
    _, error = failure(provider)
    assert error.kind == "server" and "Provider returned error" in error.message
    _, error = failure(provider)
    assert isinstance(error, ContextLengthExceeded)


def test_cancel_ends_the_stream_at_once_without_done(fake):
    fake.script(Reply.text(" ".join(["word"] * 200), delay=0.02))
    cancel = threading.Event()
    request = ChatRequest(model="fake-model", messages=USER)
    events = []
    began = time.monotonic()
    for event in provider_for(fake).stream(request, cancel):
        events.append(event)
        if len(events) == 3:
            cancel.set()
    assert time.monotonic() - began < 2
    assert len(events) == 3
    assert not any(isinstance(e, Done) for e in events)


# ----- failures the SDK reports -------------------------------------------------------------


def test_context_overflow_is_its_own_error(fake):
    fake.script(Reply.error(400, "This model's maximum context length is 8192 tokens"))
    _, error = failure(provider_for(fake))
    assert isinstance(error, ContextLengthExceeded)
    assert (error.kind, error.status_code) == ("context_length", 400)


@pytest.mark.parametrize(
    ("status", "kind"),
    [(429, "rate_limit"), (500, "server"), (401, "auth"), (404, "not_found"), (400, "bad_request")],
)
def test_error_statuses_map_to_kinds(fake, status, kind):
    fake.script(Reply.error(status, "Something went wrong"))
    _, error = failure(provider_for(fake))
    assert (error.kind, error.status_code) == (kind, status)
    assert error.message == f"{status} Something went wrong"


def test_an_account_out_of_credit_is_its_own_kind_not_a_rate_limit(fake):
    fake.script(Reply.error(429, "You exceeded your current quota, please check your plan"))
    _, error = failure(provider_for(fake))
    assert (error.kind, error.status_code) == ("quota", 429)


def test_the_sdk_retries_a_rate_limited_request(fake):
    fake.script(
        Reply.error(429, "Slow down", headers={"retry-after-ms": "10"}),
        Reply.error(503, "Busy", headers={"retry-after-ms": "10"}),
        Reply.text("Finally"),
    )
    events = stream(provider_for(fake, max_retries=2))
    assert text_of(events) == "Finally"
    assert len(fake.requests) == 3
    assert fake.requests[0] == fake.requests[2]


def test_a_provider_that_never_answers_times_out(fake):
    fake.script(Reply.hang(seconds=10))
    began = time.monotonic()
    _, error = failure(provider_for(fake, timeout=0.3))
    assert error.kind == "timeout"
    assert time.monotonic() - began < 3


def test_a_stream_that_stalls_mid_answer_times_out(fake):
    fake.script(Reply.text("one two three", delay=1.0))
    events, error = failure(provider_for(fake, timeout=0.3))
    assert error.kind == "timeout"
    assert len(events) <= 1


def test_a_connection_dropped_mid_answer_fails_after_the_partial_text(fake):
    fake.script(Reply.disconnect(after="Partial answer"))
    events, error = failure(provider_for(fake))
    assert text_of(events) == "Partial answer"
    assert error.kind == "connection"
    assert fake.base_url in error.message


def test_no_server_at_all_is_a_connection_error():
    provider = OpenAICompatProvider(f"http://127.0.0.1:{free_port()}/v1", "k", max_retries=0)
    _, error = failure(provider)
    assert error.kind == "connection"


def test_list_models_names_what_the_endpoint_serves(fake):
    fake.script(Reply.text("ok"))
    provider = provider_for(fake)
    stream(provider, model="gpt-test")
    assert provider.list_models() == ["fake-model", "gpt-test"]
