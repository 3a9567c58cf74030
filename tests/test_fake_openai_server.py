"""The scripted OpenAI fake, driven through the real ``openai`` SDK over real sockets.

These tests pin down that the fake is faithful to the wire format the SDK expects, so that
tests of the agent built on it exercise the same code paths a real provider would.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import threading
import time
import urllib.request

import openai
import pytest

from tests.fakes import FakeOpenAI, Reply
from tests.fakes.openai_server import split_tokens

USER = [{"role": "user", "content": "Say hello"}]
# openai 3.x wraps a transport failure mid-stream in APIConnectionError; releases without that
# wrapping let the transport library's own error escape. Either way the stream must fail.
STREAM_DROPPED: tuple[type[BaseException], ...] = (openai.APIConnectionError,)
for _transport in ("httpx", "httpx2"):
    with contextlib.suppress(ImportError):
        STREAM_DROPPED += (importlib.import_module(_transport).TransportError,)
TOOL = {"name": "t", "parameters": {"type": "object", "properties": {}}}


def client_for(fake: FakeOpenAI, **options) -> openai.OpenAI:
    options.setdefault("max_retries", 0)
    options.setdefault("timeout", 5.0)
    return openai.OpenAI(base_url=fake.base_url, api_key="x", **options)


def stream_chunks(client: openai.OpenAI, model: str = "gpt-test", **kwargs) -> list:
    stream = client.chat.completions.create(
        model=model,
        messages=USER,
        stream=True,
        stream_options={"include_usage": True},
        **kwargs,
    )
    return list(stream)


@pytest.fixture(autouse=True)
def cleanup_test_sessions():
    """Replace conftest's autouse fixture of this name, which starts the project's server.

    The fake stands alone, so its tests neither need that server nor wait for it to start.
    """
    return []


@pytest.fixture
def fake():
    with FakeOpenAI() as server:
        yield server


# ----- text --------------------------------------------------------------------------------


def test_split_tokens_keeps_leading_spaces_and_rejoins_exactly():
    assert split_tokens("Hello there, world") == ["Hello", " there", ",", " world"]
    for text in ["", "  two  spaces ", "line\n\nbreak", 'json {"a": [1, 2]}', "naïve café"]:
        assert "".join(split_tokens(text)) == text


def test_streamed_text_arrives_in_word_pieces_with_role_first_and_usage_last(fake):
    fake.script(Reply.text("Hello there, world", usage=(12, 5)))
    chunks = stream_chunks(client_for(fake))

    first = chunks[0].choices[0]
    assert first.delta.role == "assistant"
    assert first.finish_reason is None
    pieces = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert pieces == ["Hello", " there", ",", " world"]
    finishing = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishing[-1] == "stop"
    assert all(reason is None for reason in finishing[:-1])

    last = chunks[-1]
    assert last.choices == []
    assert last.usage.prompt_tokens == 12
    assert last.usage.completion_tokens == 5
    assert last.usage.total_tokens == 17
    assert all(c.usage is None for c in chunks[:-1])
    assert {c.model for c in chunks} == {"gpt-test"}
    assert len({c.id for c in chunks}) == 1
    assert all(c.object == "chat.completion.chunk" for c in chunks)


def test_streaming_without_include_usage_sends_no_usage_chunk(fake):
    fake.script(Reply.text("Hi"))
    stream = client_for(fake).chat.completions.create(model="m", messages=USER, stream=True)
    chunks = list(stream)
    assert all(c.choices for c in chunks)
    assert all(c.usage is None for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Hi"


def test_usage_defaults_to_a_rough_count_when_not_scripted(fake):
    fake.script(Reply.text("one two three four"), Reply.text("one two three four"))
    client = client_for(fake)
    usage = stream_chunks(client)[-1].usage
    assert usage.completion_tokens == 4
    assert usage.prompt_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    whole = client.chat.completions.create(model="m", messages=USER)
    assert whole.usage.completion_tokens == 4


def test_non_streaming_text_is_one_completion_with_usage_and_the_requested_model(fake):
    fake.script(Reply.text("Hello there, world", usage=(12, 5)))
    completion = client_for(fake).chat.completions.create(model="gpt-echo", messages=USER)

    assert completion.object == "chat.completion"
    assert completion.model == "gpt-echo"
    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == "Hello there, world"
    assert choice.message.tool_calls is None
    assert choice.finish_reason == "stop"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (12, 5)
    assert completion.usage.total_tokens == 17
    assert completion._request_id.startswith("req_")


def test_delay_spaces_the_stream_out_over_time(fake):
    fake.script(Reply.text("a b c d e", delay=0.05))
    stream = client_for(fake).chat.completions.create(model="m", messages=USER, stream=True)
    arrivals = []
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append(time.monotonic())
    assert len(arrivals) == 5
    assert arrivals[-1] - arrivals[0] >= 4 * 0.05 * 0.8


# ----- reasoning ---------------------------------------------------------------------------


def test_reasoning_streams_as_reasoning_content_before_the_answer(fake):
    fake.script(Reply.text("Hello there", reasoning="thinking it over..."))
    chunks = stream_chunks(client_for(fake))

    kinds = []
    reasoning = content = ""
    for chunk in chunks:
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        extra = getattr(delta, "reasoning_content", None)
        if extra:
            kinds.append("reasoning")
            reasoning += extra
        if delta.content:
            kinds.append("content")
            content += delta.content
    assert reasoning == "thinking it over..."
    assert content == "Hello there"
    assert kinds == sorted(kinds, key=["reasoning", "content"].index)
    assert kinds.count("reasoning") > 1


def test_non_streaming_reasoning_is_on_the_message(fake):
    fake.script(Reply.text("Done", reasoning="step one"))
    completion = client_for(fake).chat.completions.create(model="m", messages=USER)
    message = completion.choices[0].message
    assert message.content == "Done"
    assert message.reasoning_content == "step one"


# ----- tool calls --------------------------------------------------------------------------


def reassemble_tool_calls(chunks) -> tuple[list[dict], str | None]:
    """What a streaming consumer does: merge fragments by index, as the SDK docs describe."""
    calls: dict[int, dict] = {}
    finish = None
    for chunk in chunks:
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        finish = choice.finish_reason or finish
        for part in choice.delta.tool_calls or []:
            call = calls.setdefault(part.index, {"id": None, "name": "", "arguments": ""})
            if part.id:
                assert call["id"] is None, "a call's id is sent once, in its opening delta"
                call["id"] = part.id
                assert part.type == "function"
            if part.function and part.function.name:
                call["name"] += part.function.name
            if part.function and part.function.arguments:
                call["arguments"] += part.function.arguments
    return [calls[i] for i in sorted(calls)], finish


def test_streamed_tool_call_fragments_reassemble_into_the_scripted_calls(fake):
    fake.script(
        Reply.tool_calls(
            [("read_file", {"path": "a.txt"}), ("list_dir", {"path": "."})], usage=(20, 8)
        )
    )
    chunks = stream_chunks(client_for(fake))

    openings = [
        part
        for c in chunks
        if c.choices
        for part in c.choices[0].delta.tool_calls or []
        if part.id is not None
    ]
    assert [(p.index, p.id, p.function.name, p.function.arguments) for p in openings] == [
        (0, "call_1", "read_file", ""),
        (1, "call_2", "list_dir", ""),
    ]
    fragments = [part for c in chunks if c.choices for part in c.choices[0].delta.tool_calls or []]
    assert len(fragments) > 4, "arguments must arrive in several fragments"

    calls, finish = reassemble_tool_calls(chunks)
    assert finish == "tool_calls"
    assert [(c["id"], c["name"], json.loads(c["arguments"])) for c in calls] == [
        ("call_1", "read_file", {"path": "a.txt"}),
        ("call_2", "list_dir", {"path": "."}),
    ]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[0].choices[0].delta.content is None
    assert chunks[-1].usage.total_tokens == 28


def test_non_streaming_tool_calls_come_back_whole(fake):
    fake.script(Reply.tool_calls([("read_file", {"path": "a.txt"})], content="Let me look."))
    completion = client_for(fake).chat.completions.create(model="m", messages=USER)
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Let me look."
    [call] = choice.message.tool_calls
    assert call.id == "call_1"
    assert call.type == "function"
    assert call.function.name == "read_file"
    assert json.loads(call.function.arguments) == {"path": "a.txt"}


def test_call_ids_stay_unique_across_replies_and_raw_arguments_pass_verbatim(fake):
    fake.script(
        Reply.tool_calls([("a", {})]),
        Reply.tool_calls([("b", '{"broken": ')]),
    )
    client = client_for(fake)
    first = client.chat.completions.create(model="m", messages=USER)
    calls, _ = reassemble_tool_calls(stream_chunks(client))
    assert first.choices[0].message.tool_calls[0].id == "call_1"
    assert calls == [{"id": "call_2", "name": "b", "arguments": '{"broken": '}]


# ----- errors ------------------------------------------------------------------------------


def test_context_overflow_raises_bad_request_with_its_code_and_message(fake):
    message = (
        "This model's maximum context length is 8192 tokens. However, your messages "
        "resulted in 9000 tokens (context length exceeded)"
    )
    fake.script(Reply.error(400, message, code="context_length_exceeded"))
    with pytest.raises(openai.BadRequestError) as caught:
        client_for(fake).chat.completions.create(model="m", messages=USER)
    error = caught.value
    assert error.status_code == 400
    assert error.code == "context_length_exceeded"
    assert error.type == "invalid_request_error"
    assert error.param is None
    assert error.body["message"] == message
    assert "maximum context length" in str(error)


def test_rate_limit_raises_rate_limit_error_with_scripted_headers(fake):
    fake.script(Reply.error(429, "Rate limit reached for requests", headers={"retry-after": "7"}))
    with pytest.raises(openai.RateLimitError) as caught:
        stream_chunks(client_for(fake))
    assert caught.value.status_code == 429
    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.response.headers["retry-after"] == "7"


def test_server_error_raises_internal_server_error(fake):
    fake.script(Reply.error(500, "The server had an error while processing your request"))
    with pytest.raises(openai.InternalServerError) as caught:
        client_for(fake).chat.completions.create(model="m", messages=USER)
    assert caught.value.status_code == 500
    assert caught.value.type == "server_error"


def test_sdk_retries_just_consume_the_next_scripted_replies(fake):
    fake.script(Reply.error(500, "transient"), Reply.text("recovered"))
    client = client_for(fake, max_retries=1)
    completion = client.chat.completions.create(model="m", messages=USER)
    assert completion.choices[0].message.content == "recovered"
    assert len(fake.requests) == 2
    assert fake.pending == 0


def test_unknown_paths_answer_openai_style_404(fake):
    with pytest.raises(openai.NotFoundError) as caught:
        client_for(fake).embeddings.create(model="m", input="x")
    assert "Invalid URL" in caught.value.message


# ----- hang and disconnect -----------------------------------------------------------------


def test_hang_trips_the_client_timeout_and_does_not_delay_stopping():
    fake = FakeOpenAI().start()
    try:
        fake.script(Reply.hang(seconds=30))
        client = client_for(fake, timeout=0.3)
        started = time.monotonic()
        with pytest.raises(openai.APITimeoutError):
            stream_chunks(client)
        assert time.monotonic() - started < 3
    finally:
        started = time.monotonic()
        fake.stop()
        assert time.monotonic() - started < 2


def test_stopping_releases_a_request_that_is_still_hanging():
    fake = FakeOpenAI().start()
    fake.script(Reply.hang(seconds=30))
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            client_for(fake, timeout=20).chat.completions.create(model="m", messages=USER)
        except openai.APIError as exc:
            outcome.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    while not fake.requests:
        time.sleep(0.01)
    started = time.monotonic()
    fake.stop()
    caller.join(timeout=5)
    assert time.monotonic() - started < 3
    assert not caller.is_alive()
    assert isinstance(outcome[0], openai.APIConnectionError)


def test_hang_that_ends_first_closes_without_a_response(fake):
    fake.script(Reply.hang(seconds=0.1))
    with pytest.raises(openai.APIConnectionError) as caught:
        client_for(fake).chat.completions.create(model="m", messages=USER)
    assert not isinstance(caught.value, openai.APITimeoutError)


def test_disconnect_yields_the_partial_tokens_then_the_stream_raises(fake):
    fake.script(Reply.disconnect(after="Partial ans"))
    stream = client_for(fake).chat.completions.create(
        model="m", messages=USER, stream=True, stream_options={"include_usage": True}
    )
    received = []
    with pytest.raises(STREAM_DROPPED):
        for chunk in stream:
            received.append(chunk)
    assert received[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in received) == "Partial ans"
    assert all(c.choices[0].finish_reason is None for c in received)
    assert all(c.usage is None for c in received)


def test_disconnect_on_a_non_streaming_request_raises_connection_error(fake):
    fake.script(Reply.disconnect(after="Partial ans"))
    with pytest.raises(openai.APIConnectionError):
        client_for(fake).chat.completions.create(model="m", messages=USER)


# ----- script, default, requests, models ---------------------------------------------------


def test_an_empty_script_answers_500_saying_nothing_was_scripted(fake):
    with pytest.raises(openai.InternalServerError) as caught:
        client_for(fake).chat.completions.create(model="m", messages=USER)
    assert caught.value.code == "no_reply_scripted"
    assert "no reply was scripted" in caught.value.message


def test_requests_records_every_body_in_order(fake):
    fake.script(Reply.text("one"), Reply.error(400, "bad"))
    client = client_for(fake)
    client.chat.completions.create(model="first", messages=USER, temperature=0.5)
    with pytest.raises(openai.BadRequestError):
        stream_chunks(
            client, model="second", tools=[{"type": "function", "function": {"name": "t"}}]
        )
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="third", messages=USER)

    bodies = fake.requests
    assert [b["model"] for b in bodies] == ["first", "second", "third"]
    assert bodies[0]["messages"] == USER
    assert bodies[0]["temperature"] == 0.5
    assert bodies[1]["stream"] is True
    assert bodies[1]["stream_options"] == {"include_usage": True}
    assert bodies[1]["tools"][0]["function"]["name"] == "t"


def test_default_answers_once_the_script_runs_out(fake):
    fake.script(Reply.text("scripted"))
    fake.default = Reply.text("ok")
    client = client_for(fake)
    answers = [
        client.chat.completions.create(model="m", messages=USER).choices[0].message.content
        for _ in range(3)
    ]
    assert answers == ["scripted", "ok", "ok"]
    assert fake.pending == 0


def test_models_lists_the_models_seen_so_far_plus_fake_model(fake):
    client = client_for(fake)
    assert [m.id for m in client.models.list()] == ["fake-model"]
    fake.default = Reply.text("ok")
    for model in ["gpt-a", "gpt-b", "gpt-a"]:
        client.chat.completions.create(model=model, messages=USER)
    assert [m.id for m in client.models.list()] == ["gpt-a", "gpt-b", "fake-model"]


def test_concurrent_requests_each_consume_exactly_one_reply(fake):
    count = 12
    fake.script(*[Reply.text(f"answer {i}", delay=0.01) for i in range(count)])
    client = client_for(fake)
    answers: list[str] = []
    lock = threading.Lock()

    def ask() -> None:
        chunks = stream_chunks(client)
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        with lock:
            answers.append(text)

    threads = [threading.Thread(target=ask) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(answers) == sorted(f"answer {i}" for i in range(count))
    assert len(fake.requests) == count
    assert fake.pending == 0


def test_fakes_running_at_once_are_independent():
    with FakeOpenAI() as one, FakeOpenAI() as two:
        assert one.base_url != two.base_url
        one.script(Reply.text("from one"))
        two.script(Reply.text("from two"))
        reply_two = client_for(two).chat.completions.create(model="m", messages=USER)
        reply_one = client_for(one).chat.completions.create(model="m", messages=USER)
    assert reply_one.choices[0].message.content == "from one"
    assert reply_two.choices[0].message.content == "from two"


def test_base_url_is_loopback_with_the_v1_prefix(fake):
    assert fake.base_url.startswith("http://127.0.0.1:")
    assert fake.base_url.endswith("/v1")
    with urllib.request.urlopen(fake.base_url + "/models", timeout=5) as response:
        assert response.status == 200


def test_serving_writes_nothing_to_stderr(fake, capfd):
    fake.script(Reply.text("quiet"), Reply.error(429, "slow down"), Reply.disconnect("x"))
    client = client_for(fake)
    stream_chunks(client)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="m", messages=USER)
    with pytest.raises(STREAM_DROPPED):
        stream_chunks(client)
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="m", messages=USER)
    client.models.list()
    assert capfd.readouterr().err == ""


def test_a_fault_inside_the_fake_is_raised_when_the_block_exits():
    fake = FakeOpenAI().start()
    fake.script(Reply("no-such-kind"))
    with pytest.raises(openai.APIConnectionError):
        client_for(fake).chat.completions.create(model="m", messages=USER)
    with pytest.raises(RuntimeError, match="unknown Reply kind"):
        fake.__exit__(None, None, None)
