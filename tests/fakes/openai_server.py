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

import itertools
import json
import re
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FAKE_MODEL", "FakeOpenAI", "Reply", "split_tokens"]

FAKE_MODEL = "fake-model"
"""Always listed by ``GET /v1/models``, so model discovery finds something before any chat."""

_TOKEN_RE = re.compile(r"\s*\w+|\s*[^\w\s]+|\s+")

_CONNECTION_DROPPED = (ConnectionError, TimeoutError)


def split_tokens(text: str) -> list[str]:
    """Split text into word-ish pieces that keep their leading space: "Hello", " there", ",".

    Real providers stream sub-word tokens. Pieces of this shape are enough to catch consumers
    that assume one chunk per reply, trim each delta, or lose the spaces between words, and
    joining them always gives back the original text exactly.
    """
    return _TOKEN_RE.findall(text)


def _default_error_type(status: int) -> str:
    """The ``error.type`` the real API uses for a status, so handlers keyed on it behave."""
    if status == 429:
        return "requests"
    if status >= 500:
        return "server_error"
    return "invalid_request_error"


def _error_body(message: str, error_type: str, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": error_type, "code": code, "param": None}}


@dataclass(frozen=True)
class Reply:
    """One scripted provider turn; build it with the classmethods, not the constructor.

    Replies are immutable and carry no per-request state (ids and timestamps are made when a
    request consumes one), so the same Reply may be scripted twice or used as ``default``.
    """

    kind: str
    content: str = ""
    reasoning: str | None = None
    calls: tuple[tuple[str, str], ...] = ()
    usage: tuple[int, int] | None = None
    delay: float = 0.0
    status: int = 200
    message: str = ""
    code: str | None = None
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
        encoded = tuple(
            (name, args if isinstance(args, str) else json.dumps(dict(args)))
            for name, args in calls
        )
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
        return cls(
            "error",
            status=status,
            message=message,
            code=code,
            error_type=error_type or _default_error_type(status),
            headers=tuple((headers or {}).items()),
        )

    @classmethod
    def hang(cls, seconds: float = 30.0) -> Reply:
        """Accept the request, then send nothing: not even a status line.

        This is a provider that stalls before answering. The handler waits ``seconds`` (or
        until the fake stops, so leaving the ``with`` block never waits for it) and then
        closes the connection without a response. With a client timeout shorter than
        ``seconds`` the SDK raises ``openai.APITimeoutError`` (cause: a read timeout), for
        streamed and whole requests alike, since no headers ever arrive; if the hang ends
        first, the SDK raises ``openai.APIConnectionError`` ("Server disconnected without
        sending a response"). With the SDK's default retries, each retry consumes the next
        scripted reply.
        """
        return cls("hang", seconds=seconds)

    @classmethod
    def disconnect(cls, after: str = "", *, delay: float = 0.0) -> Reply:
        """Start answering, then drop the connection mid-response.

        Streamed: status 200, the role chunk and the pieces of ``after`` as content chunks
        (``delay`` seconds apart), then the socket is closed without the terminating HTTP
        chunk, finish_reason, usage or ``[DONE]``. The SDK yields every chunk that arrived
        and then raises from the iteration: openai 3.x raises ``openai.APIConnectionError``
        whose ``__cause__`` is the transport's ``RemoteProtocolError`` ("incomplete chunked
        read"); SDK releases that do not wrap stream errors let that transport error escape
        as it is. Either way the stream never ends quietly, so a consumer cannot mistake the
        partial text for a complete answer.
        Non-streamed: headers promising a full body and half of that body, then the close;
        the SDK raises ``openai.APIConnectionError``.
        """
        return cls("disconnect", content=after, delay=delay)


@dataclass
class _Turn:
    """Per-request facts fixed when a request consumes a reply."""

    reply: Reply
    model: str
    response_id: str
    request_id: str
    created: int
    call_ids: list[str]
    prompt_tokens: int
    stream: bool
    include_usage: bool


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


def _dump(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


class _Handler(BaseHTTPRequestHandler):
    """Serves one connection; every response closes it, so no thread idles on keep-alive."""

    protocol_version = "HTTP/1.1"
    # A client that stalls mid-request cannot pin a handler thread (and so ``stop``) for long.
    timeout = 10
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Stay silent: a line on stderr per request would bury the test output."""

    # ----- routing -------------------------------------------------------------------------

    def do_GET(self) -> None:
        if self._route() == "/v1/models":
            models = self.server.fake.models_seen()
            data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in models]
            self._send_json(200, {"object": "list", "data": data})
        else:
            self._send_not_found("GET")

    def do_POST(self) -> None:
        if self._route() != "/v1/chat/completions":
            self._send_not_found("POST")
            return
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            self._send_error_json(
                400, "We could not parse the JSON body of your request.", "invalid_request_error"
            )
            return
        turn = self.server.fake.take_turn(body)
        if turn is None:
            self._send_error_json(
                500,
                "FakeOpenAI: no reply was scripted for this request; "
                "call fake.script(...) or set fake.default",
                "server_error",
                code="no_reply_scripted",
            )
            return
        self._serve(turn)

    def _route(self) -> str:
        return self.path.split("?", 1)[0].rstrip("/")

    def _serve(self, turn: _Turn) -> None:
        reply = turn.reply
        if reply.kind == "error":
            self._send_error_json(
                reply.status,
                reply.message,
                reply.error_type or _default_error_type(reply.status),
                code=reply.code,
                headers=reply.headers,
                request_id=turn.request_id,
            )
        elif reply.kind == "hang":
            self.server.fake.stopping.wait(reply.seconds)
            self.close_connection = True
        elif reply.kind in ("text", "tool_calls", "disconnect"):
            if turn.stream:
                self._stream(turn)
            else:
                self._complete(turn)
        else:
            raise ValueError(f"unknown Reply kind {reply.kind!r}")

    # ----- responses -----------------------------------------------------------------------

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

    def _send_error_json(
        self,
        status: int,
        message: str,
        error_type: str,
        *,
        code: str | None = None,
        headers: Iterable[tuple[str, str]] = (),
        request_id: str | None = None,
    ) -> None:
        extra = list(headers)
        if request_id:
            extra.append(("x-request-id", request_id))
        self._send_json(status, _error_body(message, error_type, code), extra)

    def _send_not_found(self, method: str) -> None:
        self._send_error_json(
            404, f"Invalid URL ({method} {self._route()})", "invalid_request_error"
        )

    def _complete(self, turn: _Turn) -> None:
        """Answer ``stream: false``: generation time first, then one JSON object."""
        plan = _plan(turn)
        pieces = 1 + len(plan.deltas)
        if self.server.fake.stopping.wait(turn.reply.delay * pieces):
            return
        data = _dump(_completion(turn, plan))
        self._start(200, "application/json", [("x-request-id", turn.request_id)])
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if turn.reply.kind == "disconnect":
            self.wfile.write(data[: len(data) // 2])
            return
        self.wfile.write(data)

    def _stream(self, turn: _Turn) -> None:
        """Answer ``stream: true`` as SSE over chunked transfer, the way the real API does."""
        reply = turn.reply
        plan = _plan(turn)
        self._start(
            200,
            "text/event-stream; charset=utf-8",
            [
                ("Transfer-Encoding", "chunked"),
                ("Cache-Control", "no-cache"),
                ("x-request-id", turn.request_id),
            ],
        )
        self.end_headers()
        events = [_chunk(turn, plan.first_delta)]
        events += [_chunk(turn, delta) for delta in plan.deltas]
        if reply.kind != "disconnect":
            events.append(_chunk(turn, {}, _finish_reason(reply)))
            if turn.include_usage:
                events.append(_chunk(turn, None, usage=_usage(turn, plan)))
        stopping = self.server.fake.stopping
        for number, event in enumerate(events):
            if number and reply.delay and stopping.wait(reply.delay):
                return
            if stopping.is_set():
                return
            self._send_chunk(b"data: " + _dump(event) + b"\n\n")
        if reply.kind == "disconnect":
            # Returning without the terminating chunk closes the socket mid-body.
            return
        self._send_chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")

    def _send_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))


class _Server(ThreadingHTTPServer):
    """Threaded server that reports handler faults to its fake instead of printing them."""

    daemon_threads = True
    # ``server_close`` joins the handler threads; they all honour ``fake.stopping``.
    block_on_close = True

    def __init__(self, fake: FakeOpenAI) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up is normal; anything else is a bug in the fake, kept for exit."""
        if isinstance(sys.exc_info()[1], _CONNECTION_DROPPED):
            return
        self.fake.record_fault(traceback.format_exc())


class FakeOpenAI:
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

    def __init__(self, *, default: Reply | None = None) -> None:
        self.default: Reply | None = default
        """Reply used whenever the script is empty; ``None`` makes such requests fail."""
        self.stopping = threading.Event()
        """Set on stop; hangs, delays and streams wait on it so that stopping is prompt."""
        self._lock = threading.Lock()
        self._script: deque[Reply] = deque()
        self._requests: list[dict[str, Any]] = []
        self._models: list[str] = []
        self._faults: list[str] = []
        self._call_numbers = itertools.count(1)
        self._response_numbers = itertools.count(1)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ----- lifecycle -----------------------------------------------------------------------

    def start(self) -> FakeOpenAI:
        """Bind a free port on 127.0.0.1 and serve from a background thread."""
        if self._server is not None:
            raise RuntimeError("FakeOpenAI is already started")
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"FakeOpenAI:{self._server.server_address[1]}",
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

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.stop()
        if exc_type is None and self._faults:
            raise RuntimeError("FakeOpenAI failed while serving:\n" + self._faults[0])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1``, the value to pass as the SDK's ``base_url``."""
        if self._server is None:
            raise RuntimeError("FakeOpenAI is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    # ----- scripting and inspection --------------------------------------------------------

    def script(self, *replies: Reply) -> None:
        """Queue replies; each chat request consumes the next one, in order."""
        with self._lock:
            self._script.extend(replies)

    @property
    def pending(self) -> int:
        """Scripted replies not yet consumed, so a test can assert it used them all."""
        with self._lock:
            return len(self._script)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Parsed JSON bodies of the chat requests received so far, in arrival order.

        Every parsed request is recorded, including ones answered with an error or with
        "no reply was scripted", because those are what a failing test needs to see.
        """
        with self._lock:
            return list(self._requests)

    def models_seen(self) -> list[str]:
        """Models named in chat requests so far, first-seen order, then ``FAKE_MODEL``."""
        with self._lock:
            models = list(self._models)
        return [*models, FAKE_MODEL] if FAKE_MODEL not in models else models

    # ----- used by the request handlers ----------------------------------------------------

    def take_turn(self, body: dict[str, Any]) -> _Turn | None:
        """Record a request and bind it to the next reply; ``None`` when nothing is left."""
        model = body.get("model") if isinstance(body.get("model"), str) else FAKE_MODEL
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        prompt_text = json.dumps([body.get("messages"), body.get("tools")])
        with self._lock:
            self._requests.append(body)
            if model not in self._models:
                self._models.append(model)
            reply = self._script.popleft() if self._script else self.default
            if reply is None:
                return None
            number = next(self._response_numbers)
            call_ids = [f"call_{next(self._call_numbers)}" for _ in reply.calls]
        return _Turn(
            reply=reply,
            model=model,
            response_id=f"chatcmpl-fake{number}",
            request_id=f"req_fake{number}",
            created=int(time.time()),
            call_ids=call_ids,
            prompt_tokens=max(1, len(prompt_text) // 4),
            stream=body.get("stream") is True,
            include_usage=include_usage,
        )

    def record_fault(self, text: str) -> None:
        """Keep a server-side traceback for ``__exit__`` to raise."""
        with self._lock:
            self._faults.append(text)
