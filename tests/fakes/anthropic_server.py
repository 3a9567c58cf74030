"""A scripted Anthropic Messages API server for tests.

The Anthropic provider talks to the API through the official ``anthropic`` SDK. As with the
OpenAI fake, this is a real HTTP server on 127.0.0.1 that the unmodified SDK reaches over real
sockets, so SSE framing, ``event:`` names, content-block indexes, partial tool-input JSON,
error bodies, stalls and dropped connections all go through the code that handles them in
production::

    with FakeAnthropic() as fake:
        fake.script(AnthropicReply.text("Hello there"), AnthropicReply.error(429, "Slow down"))
        client = anthropic.Anthropic(base_url=fake.base_url, api_key="x", max_retries=0)
        ...

Each ``POST /v1/messages`` consumes the next scripted ``AnthropicReply``, so a test spells out
every provider turn it expects, in order; an unexpected extra request fails loudly (HTTP 500)
instead of being answered with something plausible.

Like the real API, the fake refuses requests the real API refuses, before consuming a reply:
a missing ``x-api-key`` or ``anthropic-version`` header, a missing ``model``, ``max_tokens``
or ``messages``, an empty message or text block, a block type the API does not know, a
``tool_use`` not answered by a ``tool_result`` in the next message (or the reverse), and tools
without an ``input_schema``. A provider that translates history wrongly therefore fails here
the way it would fail in production.
"""

from __future__ import annotations

import json
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

__all__ = ["AnthropicReply", "FakeAnthropic"]

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}

_STOP_REASONS = ("end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal")

_BLOCK_TYPES = frozenset(
    {
        "text",
        "image",
        "document",
        "tool_use",
        "tool_result",
        "thinking",
        "redacted_thinking",
        "search_result",
    }
)


def _default_error_type(status: int) -> str:
    """The ``error.type`` the real API sends for a status."""
    if status in _ERROR_TYPES:
        return _ERROR_TYPES[status]
    return "api_error" if status >= 500 else "invalid_request_error"


def _error_body(error_type: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}}


@dataclass(frozen=True)
class AnthropicReply(ScriptedReply):
    """One scripted provider turn; build it with the classmethods, not the constructor.

    Replies are immutable and carry no per-request state (message and tool-use ids are made
    when a request consumes one), so the same reply may be scripted twice or used as
    ``default``.

    ``hang`` and ``disconnect`` come from ``ScriptedReply``; through the ``anthropic`` SDK:

    - ``hang``: with a client timeout shorter than ``seconds`` the SDK raises
      ``anthropic.APITimeoutError``; if the hang ends first, ``anthropic.APIConnectionError``.
    - ``disconnect``, streamed: ``message_start`` and a text block with the pieces of
      ``after`` arrive, then the socket closes without ``message_delta``, ``message_stop`` or
      the terminating HTTP chunk; this SDK release lets the transport's
      ``RemoteProtocolError`` ("incomplete chunked read") escape the iteration unwrapped.
      Non-streamed: ``anthropic.APIConnectionError``.
    """

    thinking: str | None = None
    """Sent as a signed ``thinking`` block before the text."""
    calls: tuple[tuple[str, str], ...] = ()
    usage: tuple[int, int] | None = None
    cache_read: int = 0
    cache_creation: int = 0
    """Reported as ``cache_read_input_tokens`` and ``cache_creation_input_tokens``."""
    stop_reason: str = "end_turn"
    """The message's ``stop_reason``: "end_turn", "max_tokens", "tool_use", ..."""
    delay: float = 0.0
    status: int = 200
    message: str = ""
    error_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    seconds: float = 0.0

    @classmethod
    def text(
        cls,
        content: str,
        *,
        usage: tuple[int, int] | None = None,
        thinking: str | None = None,
        delay: float = 0.0,
        stop_reason: str = "end_turn",
        cache_read: int = 0,
        cache_creation: int = 0,
    ) -> AnthropicReply:
        """A plain assistant answer, ``stop_reason`` "end_turn" unless told otherwise.

        Streamed, ``thinking`` (if any) comes first as a ``thinking`` block of
        ``thinking_delta`` pieces closed by a ``signature_delta``, then the text as a ``text``
        block of ``text_delta`` pieces (see ``split_tokens``), ``delay`` seconds between
        events. ``usage`` is (input_tokens, output_tokens); without it a rough count is
        reported. ``cache_read`` and ``cache_creation`` fill ``cache_read_input_tokens`` and
        ``cache_creation_input_tokens``. Pass ``stop_reason="max_tokens"`` for an answer cut
        off by the token limit.
        """
        if stop_reason not in _STOP_REASONS:
            raise ValueError(f"unknown stop_reason {stop_reason!r}")
        return cls(
            "text",
            content=content,
            thinking=thinking,
            usage=usage,
            delay=delay,
            stop_reason=stop_reason,
            cache_read=cache_read,
            cache_creation=cache_creation,
        )

    @classmethod
    def tool_use(
        cls,
        calls: Iterable[tuple[str, Mapping[str, Any] | str]],
        *,
        content: str = "",
        usage: tuple[int, int] | None = None,
        thinking: str | None = None,
        delay: float = 0.0,
        cache_read: int = 0,
        cache_creation: int = 0,
    ) -> AnthropicReply:
        """An assistant turn that calls tools, ``stop_reason`` "tool_use".

        ``calls`` is a sequence of (tool name, input); a mapping is sent as its JSON text, a
        string verbatim so a test can script malformed input. Streamed, each call is a
        ``tool_use`` block that opens with its ``id`` ("toolu_fake<n>", unique for the fake's
        lifetime), name and an empty ``input``, followed by ``input_json_delta`` fragments of
        the JSON text, as the real API sends them. ``content`` is optional text said before
        the calls, in a ``text`` block of its own.
        """
        encoded = encode_calls(calls)
        return cls(
            "tool_use",
            content=content,
            thinking=thinking,
            calls=encoded,
            usage=usage,
            delay=delay,
            stop_reason="tool_use",
            cache_read=cache_read,
            cache_creation=cache_creation,
        )

    @classmethod
    def error(
        cls,
        status: int,
        message: str,
        error_type: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> AnthropicReply:
        """An error in Anthropic's shape: ``{"type": "error", "error": {"type", "message"}}``.

        ``error_type`` defaults to what the real API sends for the status (400
        invalid_request_error, 401 authentication_error, 403 permission_error, 404
        not_found_error, 413 request_too_large, 429 rate_limit_error, 500 api_error, 529
        overloaded_error). The SDK maps the status to its exception classes; a context
        overflow is a 400 whose message says "prompt is too long". ``headers`` are added to
        the response (for example ``retry-after``). The SDK retries 408, 409, 429 and 5xx on
        its own unless the client has ``max_retries=0``; each retry consumes the next
        scripted reply.
        """
        return cls._failure(status, message, error_type or _default_error_type(status), headers)

    @classmethod
    def stream_error(
        cls, message: str, error_type: str = "overloaded_error", *, after: str = ""
    ) -> AnthropicReply:
        """Fail after the stream has started, as the real API does when it overloads mid-way.

        Streamed: status 200, ``message_start``, the pieces of ``after`` in a text block, then
        an ``event: error`` whose data is the usual error body, and the stream ends. The SDK
        raises ``anthropic.APIStatusError`` from the iteration; its ``status_code`` is the
        response's 200, so only the error's ``type`` tells what went wrong.
        Non-streamed: the error comes as a 529 (or 500 for other types) JSON error body.
        """
        return cls("stream_error", content=after, message=message, error_type=error_type)


@dataclass
class _Turn(ScriptedTurn):
    """A valid Messages request bound to its reply."""

    id_prefix = "msg_fake"
    call_id_prefix = "toolu_fake"
    prompt_fields = ("system", "messages", "tools")

    reply: AnthropicReply

    @property
    def model(self) -> str:
        return self.body["model"]


@dataclass
class _Block:
    """One content block: how it opens, the deltas that fill it, and how it ends up whole."""

    start: dict[str, Any]
    deltas: list[dict[str, Any]]
    whole: dict[str, Any]


@dataclass
class _Plan:
    blocks: list[_Block] = field(default_factory=list)
    output_tokens: int = 0


def _signature(text: str) -> str:
    return f"fakesig{len(text)}"


def _plan(turn: _Turn) -> _Plan:
    """Lay a reply out as content blocks, shared by streamed and whole renderings."""
    reply = turn.reply
    plan = _Plan()
    if reply.thinking:
        pieces = split_tokens(reply.thinking)
        signature = _signature(reply.thinking)
        plan.blocks.append(
            _Block(
                start={"type": "thinking", "thinking": "", "signature": ""},
                deltas=[{"type": "thinking_delta", "thinking": p} for p in pieces]
                + [{"type": "signature_delta", "signature": signature}],
                whole={"type": "thinking", "thinking": reply.thinking, "signature": signature},
            )
        )
        plan.output_tokens += len(pieces)
    if reply.content or reply.kind in ("text", "disconnect", "stream_error"):
        pieces = split_tokens(reply.content)
        plan.blocks.append(
            _Block(
                start={"type": "text", "text": ""},
                deltas=[{"type": "text_delta", "text": p} for p in pieces],
                whole={"type": "text", "text": reply.content},
            )
        )
        plan.output_tokens += len(pieces)
    for (name, arguments), tool_id in zip(reply.calls, turn.call_ids, strict=True):
        fragments = split_tokens(arguments)
        try:
            whole_input: Any = json.loads(arguments)
        except ValueError:
            whole_input = arguments
        plan.blocks.append(
            _Block(
                start={"type": "tool_use", "id": tool_id, "name": name, "input": {}},
                deltas=[{"type": "input_json_delta", "partial_json": f} for f in fragments],
                whole={"type": "tool_use", "id": tool_id, "name": name, "input": whole_input},
            )
        )
        plan.output_tokens += 1 + len(fragments)
    return plan


def _usage(turn: _Turn, plan: _Plan) -> tuple[int, int]:
    return turn.reply.usage or (turn.prompt_tokens, max(1, plan.output_tokens))


def _message(turn: _Turn, plan: _Plan, *, whole: bool) -> dict[str, Any]:
    """The ``message`` object: complete for ``stream: false``, empty for ``message_start``."""
    reply = turn.reply
    input_tokens, output_tokens = _usage(turn, plan)
    return {
        "id": turn.response_id,
        "type": "message",
        "role": "assistant",
        "model": turn.model,
        "content": [block.whole for block in plan.blocks] if whole else [],
        "stop_reason": reply.stop_reason if whole else None,
        "stop_sequence": None,
        "usage": {
            "input_tokens": input_tokens,
            "cache_creation_input_tokens": reply.cache_creation,
            "cache_read_input_tokens": reply.cache_read,
            # The real API reports a token or so here and the true count in message_delta.
            "output_tokens": output_tokens if whole else 1,
        },
    }


def _stream_events(turn: _Turn, plan: _Plan) -> list[tuple[str, dict[str, Any]]]:
    """The (event name, data) pairs of a streamed reply, in order."""
    reply = turn.reply
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": _message(turn, plan, whole=False)}),
        ("ping", {"type": "ping"}),
    ]
    broken = reply.kind in ("disconnect", "stream_error")
    for index, block in enumerate(plan.blocks):
        start = {"type": "content_block_start", "index": index, "content_block": block.start}
        events.append(("content_block_start", start))
        events += [
            ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d})
            for d in block.deltas
        ]
        if not broken:
            stop = {"type": "content_block_stop", "index": index}
            events.append(("content_block_stop", stop))
    if reply.kind == "stream_error":
        events.append(("error", _error_body(reply.error_type or "api_error", reply.message)))
    elif not broken:
        _, output_tokens = _usage(turn, plan)
        delta = {
            "type": "message_delta",
            "delta": {"stop_reason": reply.stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": output_tokens},
        }
        events += [("message_delta", delta), ("message_stop", {"type": "message_stop"})]
    return events


# ----- what the real API refuses -----------------------------------------------------------


def _merged_turns(messages: list[Any]) -> list[tuple[int, str, list[Any]]]:
    """(index of first message, role, blocks) per turn; the API joins same-role neighbours."""
    turns: list[tuple[int, str, list[Any]]] = []
    for number, message in enumerate(messages):
        role, content = message["role"], message["content"]
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        if turns and turns[-1][1] == role:
            turns[-1][2].extend(blocks)
        else:
            turns.append((number, role, list(blocks)))
    return turns


def _message_problem(number: int, message: Any, is_last: bool) -> str | None:
    if not isinstance(message, dict):
        return f"messages.{number}: Input should be a valid dictionary"
    if message.get("role") not in ("user", "assistant"):
        return f"messages.{number}.role: Input should be 'user' or 'assistant'"
    content = message.get("content")
    if not isinstance(content, (str, list)):
        return f"messages.{number}.content: Field required"
    final_assistant = is_last and message["role"] == "assistant"
    if not content and not final_assistant:
        return (
            f"messages.{number}: all messages must have non-empty content except for the "
            "optional final assistant message"
        )
    if isinstance(content, str):
        return None
    problems = (
        _block_problem(f"messages.{number}.content.{index}", block)
        for index, block in enumerate(content)
    )
    return next((problem for problem in problems if problem), None)


def _block_problem(where: str, block: Any) -> str | None:
    kind = block.get("type") if isinstance(block, dict) else None
    if kind not in _BLOCK_TYPES:
        return (
            f"{where}: Input tag '{kind}' found using 'type' does not match any of the "
            f"expected tags: {', '.join(sorted(_BLOCK_TYPES))}"
        )
    required: dict[str, tuple[str, ...]] = {
        "text": ("text",),
        "tool_use": ("id", "name"),
        "tool_result": ("tool_use_id",),
    }
    for name in required.get(kind, ()):
        if not isinstance(block.get(name), str):
            return f"{where}.{kind}.{name}: Field required"
    if kind == "text" and not block["text"]:
        return "messages: text content blocks must be non-empty"
    if kind == "tool_use" and not isinstance(block.get("input"), dict):
        return f"{where}.tool_use.input: Input should be a valid dictionary"
    return None


def _pairing_problem(messages: list[Any]) -> str | None:
    """Every tool_use is answered in the next turn, and every tool_result answers one."""
    previous_ids: set[str] = set()
    for number, role, blocks in _merged_turns(messages):
        results = [b["tool_use_id"] for b in blocks if b["type"] == "tool_result"]
        if role == "assistant" and results:
            return f"messages.{number}: `tool_result` blocks can only be in `user` messages"
        unexpected = [tool_id for tool_id in results if tool_id not in previous_ids]
        if unexpected:
            return (
                f"messages.{number}: unexpected `tool_use_id` found in `tool_result` blocks: "
                f"{', '.join(unexpected)}. Each `tool_result` block must have a corresponding "
                "`tool_use` block in the previous message."
            )
        missing = sorted(previous_ids - set(results))
        if missing:
            return (
                f"messages.{number}: `tool_use` ids were found without `tool_result` blocks "
                f"immediately after: {', '.join(missing)}. Each `tool_use` block must have a "
                "corresponding `tool_result` block in the next message."
            )
        previous_ids = {b["id"] for b in blocks if b["type"] == "tool_use"}
    return None


def _request_problem(body: dict[str, Any]) -> str | None:
    """The message the real API would answer with a 400, or None for a valid request."""
    messages = body.get("messages")
    problem = _field_problem(body) or _tools_problem(body.get("tools"))
    if problem:
        return problem
    if not isinstance(messages, list):
        return "messages: Field required"
    if not messages:
        return "messages: at least one message is required"
    for number, message in enumerate(messages):
        problem = _message_problem(number, message, number == len(messages) - 1)
        if problem:
            return problem
    return _pairing_problem(messages)


def _field_problem(body: dict[str, Any]) -> str | None:
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model: Field required"
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
        return "max_tokens: Field required"
    if max_tokens < 1:
        return "max_tokens: Input should be greater than or equal to 1"
    system = body.get("system")
    if system is not None and not isinstance(system, (str, list)):
        return "system: Input should be a valid string or a list of text blocks"
    return None


def _tools_problem(tools: Any) -> str | None:
    if tools is None:
        return None
    if not isinstance(tools, list):
        return "tools: Input should be a valid list"
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            return f"tools.{index}.custom.name: Field required"
        if not isinstance(tool.get("input_schema"), dict):
            return f"tools.{index}.custom.input_schema: Field required"
    return None


# ----- the server --------------------------------------------------------------------------


class _Handler(ScriptedHandler):
    endpoint = "/v1/messages"
    request_id_header = "request-id"
    answer_kinds = frozenset({"text", "tool_use", "disconnect", "stream_error"})
    not_found = ("not_found_error", "Not Found")
    bad_body = ("invalid_request_error", "There was an error parsing the body of your request")
    no_reply = ("api_error", None)

    def _answer(self, body: dict[str, Any]) -> None:
        """Refuse what the real API refuses, before a reply is consumed."""
        refusal = self._refusal(body)
        if refusal is None:
            super()._answer(body)
            return
        self.fake.record_request(body)
        self._send_failure(*refusal)

    def _refusal(self, body: dict[str, Any]) -> tuple[int, str, str] | None:
        """(status, error type, message) of the real API's refusal, or None."""
        if not (self.headers.get("x-api-key") or self.headers.get("authorization")):
            return 401, "authentication_error", "x-api-key header is required"
        if not self.headers.get("anthropic-version"):
            return 400, "invalid_request_error", "anthropic-version: header is required"
        problem = _request_problem(body)
        return None if problem is None else (400, "invalid_request_error", problem)

    def _error_body(self, error_type: str, message: str, code: str | None) -> dict[str, Any]:
        return _error_body(error_type, message)

    def _default_error_type(self, status: int) -> str:
        return _default_error_type(status)

    def _complete(self, turn: _Turn) -> None:
        reply = turn.reply
        if reply.kind == "stream_error":
            error_type = reply.error_type or "api_error"
            status = 529 if error_type == "overloaded_error" else 500
            self._send_failure(status, error_type, reply.message)
            return
        super()._complete(turn)

    def _render(self, turn: _Turn) -> tuple[dict[str, Any], int]:
        plan = _plan(turn)
        pieces = sum(len(block.deltas) for block in plan.blocks) + 1
        return _message(turn, plan, whole=True), pieces

    def _stream_frames(self, turn: _Turn) -> list[bytes]:
        return [sse(data, name) for name, data in _stream_events(turn, _plan(turn))]


class FakeAnthropic(ScriptedServer[AnthropicReply]):
    """A scripted Messages API on 127.0.0.1, one free port per instance.

    Use it as a context manager (or call ``start``/``stop``). Many may run at once and all
    methods are thread-safe. ``POST /v1/messages`` consumes the next scripted reply, falling
    back to ``default``; with neither, it answers 500 "no reply was scripted". Requests the
    real API would refuse get its 400 (or 401) without consuming a reply.

    If the fake itself fails while serving, ``__exit__`` raises with the server-side
    traceback, unless the block is already raising.
    """

    handler = _Handler
    turn_type = _Turn
    # The SDK appends ``/v1/messages`` itself, so unlike the OpenAI fake ``base_url`` is
    # ``http://127.0.0.1:<port>`` with no ``/v1``.
    api_root = ""
