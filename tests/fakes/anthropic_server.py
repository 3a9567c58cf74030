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

import itertools
import json
import sys
import threading
import traceback
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakes.openai_server import split_tokens

__all__ = ["AnthropicReply", "FakeAnthropic"]

_CONNECTION_DROPPED = (ConnectionError, TimeoutError)

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
class AnthropicReply:
    """One scripted provider turn; build it with the classmethods, not the constructor.

    Replies are immutable and carry no per-request state (message and tool-use ids are made
    when a request consumes one), so the same reply may be scripted twice or used as
    ``default``.
    """

    kind: str
    content: str = ""
    thinking: str | None = None
    calls: tuple[tuple[str, str], ...] = ()
    usage: tuple[int, int] | None = None
    cache_read: int = 0
    cache_creation: int = 0
    stop_reason: str = "end_turn"
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
        encoded = tuple(
            (name, args if isinstance(args, str) else json.dumps(dict(args)))
            for name, args in calls
        )
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
        return cls(
            "error",
            status=status,
            message=message,
            error_type=error_type or _default_error_type(status),
            headers=tuple((headers or {}).items()),
        )

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

    @classmethod
    def hang(cls, seconds: float = 30.0) -> AnthropicReply:
        """Accept the request, then send nothing: not even a status line.

        The handler waits ``seconds`` (or until the fake stops, so leaving the ``with`` block
        never waits for it) and then closes the connection without a response. With a client
        timeout shorter than ``seconds`` the SDK raises ``anthropic.APITimeoutError``; if the
        hang ends first, ``anthropic.APIConnectionError``.
        """
        return cls("hang", seconds=seconds)

    @classmethod
    def disconnect(cls, after: str = "", *, delay: float = 0.0) -> AnthropicReply:
        """Start answering, then drop the connection mid-response.

        Streamed: status 200, ``message_start``, a text block with the pieces of ``after``
        (``delay`` seconds apart), then the socket closes without ``message_delta``,
        ``message_stop`` or the terminating HTTP chunk. The SDK yields every event that
        arrived and then raises from the iteration; this SDK release lets the transport's
        ``RemoteProtocolError`` ("incomplete chunked read") escape unwrapped.
        Non-streamed: headers promising a full body and half of that body, then the close;
        the SDK raises ``anthropic.APIConnectionError``.
        """
        return cls("disconnect", content=after, delay=delay)


@dataclass
class _Turn:
    """Per-request facts fixed when a request consumes a reply."""

    reply: AnthropicReply
    model: str
    message_id: str
    request_id: str
    tool_ids: list[str]
    input_tokens: int
    stream: bool


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
    for (name, arguments), tool_id in zip(reply.calls, turn.tool_ids, strict=True):
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
    return turn.reply.usage or (turn.input_tokens, max(1, plan.output_tokens))


def _message(turn: _Turn, plan: _Plan, *, whole: bool) -> dict[str, Any]:
    """The ``message`` object: complete for ``stream: false``, empty for ``message_start``."""
    reply = turn.reply
    input_tokens, output_tokens = _usage(turn, plan)
    return {
        "id": turn.message_id,
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


def _dump(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


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


class _Handler(BaseHTTPRequestHandler):
    """Serves one connection; every response closes it, so no thread idles on keep-alive."""

    protocol_version = "HTTP/1.1"
    timeout = 10
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Stay silent: a line on stderr per request would bury the test output."""

    def do_GET(self) -> None:
        self._send_error(404, "not_found_error", "Not Found")

    def do_POST(self) -> None:
        if self.path.split("?", 1)[0].rstrip("/") != "/v1/messages":
            self._send_error(404, "not_found_error", "Not Found")
            return
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            self._send_error(
                400, "invalid_request_error", "There was an error parsing the body of your request"
            )
            return
        fake = self.server.fake
        fake.record_request(body)
        if not (self.headers.get("x-api-key") or self.headers.get("authorization")):
            self._send_error(401, "authentication_error", "x-api-key header is required")
            return
        if not self.headers.get("anthropic-version"):
            self._send_error(400, "invalid_request_error", "anthropic-version: header is required")
            return
        problem = _request_problem(body)
        if problem:
            self._send_error(400, "invalid_request_error", problem)
            return
        turn = fake.take_turn(body)
        if turn is None:
            self._send_error(
                500,
                "api_error",
                "FakeAnthropic: no reply was scripted for this request; "
                "call fake.script(...) or set fake.default",
            )
            return
        self._serve(turn)

    def _serve(self, turn: _Turn) -> None:
        reply = turn.reply
        if reply.kind == "error":
            self._send_error(
                reply.status,
                reply.error_type or _default_error_type(reply.status),
                reply.message,
                headers=[*reply.headers, ("request-id", turn.request_id)],
            )
        elif reply.kind == "hang":
            self.server.fake.stopping.wait(reply.seconds)
            self.close_connection = True
        elif reply.kind == "stream_error" and not turn.stream:
            error_type = reply.error_type or "api_error"
            status = 529 if error_type == "overloaded_error" else 500
            self._send_error(status, error_type, reply.message)
        elif reply.kind in ("text", "tool_use", "disconnect", "stream_error"):
            if turn.stream:
                self._stream(turn)
            else:
                self._complete(turn)
        else:
            raise ValueError(f"unknown AnthropicReply kind {reply.kind!r}")

    def _start(self, status: int, content_type: str, headers: Iterable[tuple[str, str]] = ()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Connection", "close")
        for name, value in headers:
            self.send_header(name, value)
        self.close_connection = True

    def _send_json(self, status: int, obj: Any, headers: Iterable[tuple[str, str]] = ()) -> None:
        data = _dump(obj)
        self._start(status, "application/json", headers)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_error(
        self,
        status: int,
        error_type: str,
        message: str,
        *,
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        self._send_json(status, _error_body(error_type, message), headers)

    def _complete(self, turn: _Turn) -> None:
        """Answer ``stream: false``: generation time first, then one JSON message."""
        plan = _plan(turn)
        pieces = sum(len(block.deltas) for block in plan.blocks) + 1
        if self.server.fake.stopping.wait(turn.reply.delay * pieces):
            return
        data = _dump(_message(turn, plan, whole=True))
        self._start(200, "application/json", [("request-id", turn.request_id)])
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if turn.reply.kind == "disconnect":
            self.wfile.write(data[: len(data) // 2])
            return
        self.wfile.write(data)

    def _stream(self, turn: _Turn) -> None:
        """Answer ``stream: true`` as named SSE events over chunked transfer."""
        reply = turn.reply
        self._start(
            200,
            "text/event-stream; charset=utf-8",
            [
                ("Transfer-Encoding", "chunked"),
                ("Cache-Control", "no-cache"),
                ("request-id", turn.request_id),
            ],
        )
        self.end_headers()
        stopping = self.server.fake.stopping
        for number, (name, data) in enumerate(_stream_events(turn, _plan(turn))):
            if number and reply.delay and stopping.wait(reply.delay):
                return
            if stopping.is_set():
                return
            self._send_chunk(b"event: " + name.encode() + b"\ndata: " + _dump(data) + b"\n\n")
        if reply.kind == "disconnect":
            # Returning without the terminating chunk closes the socket mid-body.
            return
        self.wfile.write(b"0\r\n\r\n")

    def _send_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))


class _Server(ThreadingHTTPServer):
    """Threaded server that reports handler faults to its fake instead of printing them."""

    daemon_threads = True
    block_on_close = True

    def __init__(self, fake: FakeAnthropic) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up is normal; anything else is a bug in the fake, kept for exit."""
        if isinstance(sys.exc_info()[1], _CONNECTION_DROPPED):
            return
        self.fake.record_fault(traceback.format_exc())


class FakeAnthropic:
    """A scripted Messages API on 127.0.0.1, one free port per instance.

    Use it as a context manager (or call ``start``/``stop``). Many may run at once and all
    methods are thread-safe. ``POST /v1/messages`` consumes the next scripted reply, falling
    back to ``default``; with neither, it answers 500 "no reply was scripted". Requests the
    real API would refuse get its 400 (or 401) without consuming a reply.

    If the fake itself fails while serving, ``__exit__`` raises with the server-side
    traceback, unless the block is already raising.
    """

    def __init__(self, *, default: AnthropicReply | None = None) -> None:
        self.default: AnthropicReply | None = default
        """Reply used whenever the script is empty; ``None`` makes such requests fail."""
        self.stopping = threading.Event()
        """Set on stop; hangs, delays and streams wait on it so that stopping is prompt."""
        self._lock = threading.Lock()
        self._script: deque[AnthropicReply] = deque()
        self._requests: list[dict[str, Any]] = []
        self._faults: list[str] = []
        self._tool_numbers = itertools.count(1)
        self._message_numbers = itertools.count(1)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ----- lifecycle -----------------------------------------------------------------------

    def start(self) -> FakeAnthropic:
        """Bind a free port on 127.0.0.1 and serve from a background thread."""
        if self._server is not None:
            raise RuntimeError("FakeAnthropic is already started")
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"FakeAnthropic:{self._server.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, release hanging requests and wait for every handler to finish."""
        self.stopping.set()
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> FakeAnthropic:
        return self.start()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.stop()
        if exc_type is None and self._faults:
            raise RuntimeError("FakeAnthropic failed while serving:\n" + self._faults[0])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``, the value to pass as the SDK's ``base_url``.

        The SDK appends ``/v1/messages`` itself, so unlike the OpenAI fake there is no
        ``/v1`` here.
        """
        if self._server is None:
            raise RuntimeError("FakeAnthropic is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # ----- scripting and inspection --------------------------------------------------------

    def script(self, *replies: AnthropicReply) -> None:
        """Queue replies; each valid request consumes the next one, in order."""
        with self._lock:
            self._script.extend(replies)

    @property
    def pending(self) -> int:
        """Scripted replies not yet consumed, so a test can assert it used them all."""
        with self._lock:
            return len(self._script)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Parsed JSON bodies of the message requests received so far, in arrival order.

        Refused requests are recorded too, since those are what a failing test needs to see.
        """
        with self._lock:
            return list(self._requests)

    # ----- used by the request handlers ----------------------------------------------------

    def record_request(self, body: dict[str, Any]) -> None:
        with self._lock:
            self._requests.append(body)

    def take_turn(self, body: dict[str, Any]) -> _Turn | None:
        """Bind a request to the next reply; ``None`` when nothing is left."""
        prompt_text = json.dumps([body.get("system"), body.get("messages"), body.get("tools")])
        with self._lock:
            reply = self._script.popleft() if self._script else self.default
            if reply is None:
                return None
            number = next(self._message_numbers)
            tool_ids = [f"toolu_fake{next(self._tool_numbers)}" for _ in reply.calls]
        return _Turn(
            reply=reply,
            model=body["model"],
            message_id=f"msg_fake{number}",
            request_id=f"req_fake{number}",
            tool_ids=tool_ids,
            input_tokens=max(1, len(prompt_text) // 4),
            stream=body.get("stream") is True,
        )

    def record_fault(self, text: str) -> None:
        """Keep a server-side traceback for ``__exit__`` to raise."""
        with self._lock:
            self._faults.append(text)
