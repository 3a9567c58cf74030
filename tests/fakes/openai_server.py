"""A scripted OpenAI-compatible Chat Completions server for tests.

The agent talks to LLM providers through the ``openai`` SDK. Faking at the Python level would
skip exactly the layer where providers misbehave in practice (SSE framing, chunked transfer,
tool-call fragments, error bodies, stalls, dropped connections), so this fake is a real HTTP
server on 127.0.0.1 that the unmodified SDK reaches over real sockets::

    with FakeOpenAI() as fake:
        fake.script(Reply.text("Hello there"), Reply.error(429, "Rate limit reached"))
        client = openai.OpenAI(base_url=fake.base_url, api_key="x", max_retries=0)
        ...

Each chat request consumes the next scripted ``Reply``, so a test spells out every provider
turn it expects, in order, and an unexpected extra request fails loudly (HTTP 500) instead of
being answered with something plausible.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.scripted_server import (
    ScriptedHandler,
    ScriptedReply,
    ScriptedServer,
    ScriptedTurn,
    encode_calls,
    split_tokens,
    sse,
)

__all__ = ["FAKE_MODEL", "FakeOpenAI", "Reply", "split_tokens"]

FAKE_MODEL = "fake-model"
"""Always listed by ``GET /v1/models``, so model discovery finds something before any chat."""


def _model_of(body: dict[str, Any]) -> str:
    model = body.get("model")
    return model if isinstance(model, str) else FAKE_MODEL


def _default_error_type(status: int) -> str:
    """The ``error.type`` the real API uses for a status, so handlers keyed on it behave."""
    if status == 429:
        return "requests"
    if status >= 500:
        return "server_error"
    return "invalid_request_error"


@dataclass(frozen=True)
class Reply(ScriptedReply):
    """One scripted provider turn; build it with the classmethods, not the constructor.

    Replies are immutable and carry no per-request state (ids and timestamps are made when a
    request consumes one), so the same Reply may be scripted twice or used as ``default``.

    ``hang`` and ``disconnect`` come from ``ScriptedReply``; through the ``openai`` SDK:

    - ``hang``: with a client timeout shorter than ``seconds`` the SDK raises
      ``openai.APITimeoutError`` (cause: a read timeout), for streamed and whole requests
      alike; if the hang ends first, ``openai.APIConnectionError`` ("Server disconnected
      without sending a response").
    - ``disconnect``, streamed: the role chunk and the pieces of ``after`` as content chunks
      arrive, then the stream ends without the terminating HTTP chunk, finish_reason, usage
      or ``[DONE]``. openai 3.x raises ``openai.APIConnectionError`` from the iteration, whose
      ``__cause__`` is the transport's ``RemoteProtocolError`` ("incomplete chunked read");
      SDK releases that do not wrap stream errors let that transport error escape as it is.
      Either way the stream never ends quietly. Non-streamed: ``openai.APIConnectionError``.
    """

    reasoning: str | None = None
    """Sent as ``reasoning_content`` before the content."""
    calls: tuple[tuple[str, str], ...] = ()
    usage: tuple[int, int] | None = None
    delay: float = 0.0
    status: int = 200
    message: str = ""
    code: str | None = None
    """The ``error.code`` of an "error" reply."""
    error_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    seconds: float = 0.0

    @classmethod
    def text(
        cls,
        content: str,
        *,
        delay: float = 0.0,
        usage: tuple[int, int] | None = None,
        reasoning: str | None = None,
    ) -> Reply:
        """A plain assistant answer, finish_reason "stop".

        Streamed, it arrives as word-ish pieces (see ``split_tokens``) with ``delay`` seconds
        between chunks, after ``reasoning`` (if any) as ``delta.reasoning_content`` pieces, the
        field reasoning models such as DeepSeek's use. ``usage`` is (prompt_tokens,
        completion_tokens); without it a rough count is reported, because clients that track
        cost expect usage on every response.
        """
        return cls("text", content=content, delay=delay, usage=usage, reasoning=reasoning)

    @classmethod
    def tool_calls(
        cls,
        calls: Iterable[tuple[str, Mapping[str, Any] | str]],
        *,
        content: str = "",
        delay: float = 0.0,
        usage: tuple[int, int] | None = None,
        reasoning: str | None = None,
    ) -> Reply:
        """An assistant turn that calls tools, finish_reason "tool_calls".

        ``calls`` is a sequence of (function name, arguments); a mapping is sent as its JSON
        text, a string is sent verbatim so a test can script malformed arguments. Streamed,
        each call opens with a delta holding its ``index``, ``id`` ("call_<n>", unique for the
        fake's lifetime, since agents match tool results to calls by id), ``type``, the
        function name and empty arguments; the arguments then follow in small fragments, as
        the real API sends them. ``content`` is optional text said before the calls.
        """
        encoded = encode_calls(calls)
        return cls(
            "tool_calls",
            content=content,
            calls=encoded,
            delay=delay,
            usage=usage,
            reasoning=reasoning,
        )

    @classmethod
    def error(
        cls,
        status: int,
        message: str,
        *,
        code: str | None = None,
        error_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """An OpenAI-style error: ``{"error": {"message", "type", "code", "param": null}}``.

        The SDK maps the status to its exception classes (400 ``BadRequestError``, 401
        ``AuthenticationError``, 429 ``RateLimitError``, 5xx ``InternalServerError``) and
        exposes ``code`` on them, which is how callers tell a context overflow from other bad
        requests. ``error_type`` defaults to what the real API sends for the status; if
        omitted, ``code`` is "rate_limit_exceeded" for 429 and null otherwise. ``headers`` are
        added to the response (for example ``retry-after``). The SDK retries 429 and 5xx on
        its own unless the client has ``max_retries=0``; each retry simply consumes the next
        scripted reply.
        """
        if code is None and status == 429:
            code = "rate_limit_exceeded"
        error_type = error_type or _default_error_type(status)
        return cls._failure(status, message, error_type, headers, code=code)


@dataclass
class _Turn(ScriptedTurn):
    """A chat request bound to its reply; ``created`` is fixed when the reply is taken."""

    id_prefix = "chatcmpl-fake"
    call_id_prefix = "call_"

    reply: Reply
    created: int = field(default_factory=lambda: int(time.time()))

    @property
    def model(self) -> str:
        return _model_of(self.body)

    @property
    def include_usage(self) -> bool:
        options = self.body.get("stream_options")
        return isinstance(options, dict) and bool(options.get("include_usage"))


@dataclass
class _Plan:
    """A reply laid out as deltas, shared by the streamed and the whole-response renderings."""

    first_delta: dict[str, Any]
    deltas: list[dict[str, Any]] = field(default_factory=list)
    completion_tokens: int = 0


def _plan(turn: _Turn) -> _Plan:
    reply = turn.reply
    reasoning = split_tokens(reply.reasoning or "")
    content = split_tokens(reply.content)
    has_calls = reply.kind == "tool_calls" and bool(reply.calls)
    plan = _Plan(first_delta={"role": "assistant", "content": None if has_calls else ""})
    plan.deltas += [{"reasoning_content": piece} for piece in reasoning]
    plan.deltas += [{"content": piece} for piece in content]
    plan.completion_tokens = len(reasoning) + len(content)
    if reply.kind != "tool_calls":
        return plan
    numbered = enumerate(zip(reply.calls, turn.call_ids, strict=True))
    for index, ((name, arguments), call_id) in numbered:
        opening = {
            "index": index,
            "id": call_id,
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }
        plan.deltas.append({"tool_calls": [opening]})
        fragments = split_tokens(arguments)
        plan.deltas += [
            {"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}
            for fragment in fragments
        ]
        plan.completion_tokens += 1 + len(fragments)
    return plan


def _usage(turn: _Turn, plan: _Plan) -> dict[str, int]:
    prompt, completion = turn.reply.usage or (turn.prompt_tokens, plan.completion_tokens)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _finish_reason(reply: Reply) -> str:
    return "tool_calls" if reply.kind == "tool_calls" and reply.calls else "stop"


def _completion(turn: _Turn, plan: _Plan) -> dict[str, Any]:
    """The non-streamed ``chat.completion`` object for a text or tool-call reply."""
    reply = turn.reply
    message: dict[str, Any] = {
        "role": "assistant",
        "content": reply.content or plan.first_delta["content"],
        "refusal": None,
    }
    if reply.reasoning:
        message["reasoning_content"] = reply.reasoning
    if reply.kind == "tool_calls" and reply.calls:
        message["tool_calls"] = [
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}
            for (name, args), call_id in zip(reply.calls, turn.call_ids, strict=True)
        ]
    return {
        "id": turn.response_id,
        "object": "chat.completion",
        "created": turn.created,
        "model": turn.model,
        "system_fingerprint": None,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": _finish_reason(reply),
            }
        ],
        "usage": _usage(turn, plan),
    }


def _chunk(
    turn: _Turn,
    delta: dict[str, Any] | None,
    finish_reason: str | None = None,
    usage: dict[str, int] | None = None,
) -> dict[str, Any]:
    """One ``chat.completion.chunk``; ``delta=None`` makes the final usage-only chunk."""
    choices = (
        []
        if delta is None
        else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]
    )
    chunk: dict[str, Any] = {
        "id": turn.response_id,
        "object": "chat.completion.chunk",
        "created": turn.created,
        "model": turn.model,
        "system_fingerprint": None,
        "choices": choices,
    }
    if turn.include_usage:
        chunk["usage"] = usage
    return chunk


class _Handler(ScriptedHandler):
    endpoint = "/v1/chat/completions"
    request_id_header = "x-request-id"
    answer_kinds = frozenset({"text", "tool_calls", "disconnect"})
    stream_end = b"data: [DONE]\n\n"
    not_found = ("invalid_request_error", "Invalid URL ({method} {path})")
    bad_body = ("invalid_request_error", "We could not parse the JSON body of your request.")
    no_reply = ("server_error", "no_reply_scripted")

    def do_GET(self) -> None:
        if self._route() == "/v1/models":
            described = self.fake.input_modalities
            models = [*self.fake.models_seen(), *described]
            data = [
                {"id": m, "object": "model", "created": 0, "owned_by": "fake"}
                | ({"architecture": {"input_modalities": described[m]}} if m in described else {})
                for m in dict.fromkeys(models)
            ]
            self._send_json(200, {"object": "list", "data": data})
        else:
            self._send_not_found()

    def _error_body(self, error_type: str, message: str, code: str | None) -> dict[str, Any]:
        return {"error": {"message": message, "type": error_type, "code": code, "param": None}}

    def _default_error_type(self, status: int) -> str:
        return _default_error_type(status)

    def _render(self, turn: _Turn) -> tuple[dict[str, Any], int]:
        plan = _plan(turn)
        return _completion(turn, plan), 1 + len(plan.deltas)

    def _stream_frames(self, turn: _Turn) -> list[bytes]:
        reply = turn.reply
        plan = _plan(turn)
        events = [_chunk(turn, plan.first_delta)]
        events += [_chunk(turn, delta) for delta in plan.deltas]
        if reply.kind != "disconnect":
            events.append(_chunk(turn, {}, _finish_reason(reply)))
            if turn.include_usage:
                events.append(_chunk(turn, None, usage=_usage(turn, plan)))
        return [sse(event) for event in events]


class FakeOpenAI(ScriptedServer[Reply]):
    """A scripted Chat Completions provider on 127.0.0.1, one free port per instance.

    Use it as a context manager (or call ``start``/``stop``). Many may run at once and all
    methods are thread-safe, so tests may fire concurrent requests. Served endpoints:
    ``POST /v1/chat/completions`` (each request consumes the next scripted reply, falling
    back to ``default``; with neither, it answers 500 "no reply was scripted") and
    ``GET /v1/models`` (models seen in requests so far, plus ``FAKE_MODEL``).

    If the fake itself fails while serving, ``__exit__`` raises with the server-side
    traceback, unless the block is already raising: the client alone would only see a
    dropped connection.
    """

    handler = _Handler
    turn_type = _Turn
    api_root = "/v1"

    def __init__(self, *, default: Reply | None = None) -> None:
        super().__init__(default=default)
        self._models: list[str] = []
        # model → what it takes, listed as OpenRouter does (`architecture.input_modalities`)
        self.input_modalities: dict[str, list[str]] = {}

    def models_seen(self) -> list[str]:
        """Models named in chat requests so far, first-seen order, then ``FAKE_MODEL``."""
        with self._lock:
            models = list(self._models)
        return [*models, FAKE_MODEL] if FAKE_MODEL not in models else models

    def _record(self, body: dict[str, Any]) -> None:
        super()._record(body)
        model = _model_of(body)
        if model not in self._models:
            self._models.append(model)
