"""What every scripted API server in this package has in common, whatever its wire format.

A fake provider is a real HTTP server on 127.0.0.1 that serves a queue of scripted replies,
one per request. ``ScriptedServer`` owns everything that does not depend on the API being
imitated: the server thread and its lifecycle, the free port, the ``stopping`` event that
releases hangs and delays, the reply script with its ``default``, the record of requests,
and the faults raised again on exit. ``ScriptedHandler`` serves one connection: it parses the
JSON body, dispatches a scripted reply (errors, hangs, whole and streamed answers, dropped
connections) and writes chunked server-sent events.

A fake subclasses both and supplies only its wire format: which requests it accepts, the
shape of its answers, stream events and error bodies.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
import threading
import traceback
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Generic, Self, TypeVar

__all__ = [
    "ScriptedHTTPServer",
    "ScriptedHandler",
    "ScriptedReply",
    "ScriptedServer",
    "ScriptedTurn",
    "dump",
    "encode_calls",
    "split_tokens",
    "sse",
]

_TOKEN_RE = re.compile(r"\s*\w+|\s*[^\w\s]+|\s+")

_CONNECTION_DROPPED = (ConnectionError, TimeoutError)


def split_tokens(text: str) -> list[str]:
    """Split text into word-ish pieces that keep their leading space: "Hello", " there", ",".

    Real providers stream sub-word tokens. Pieces of this shape are enough to catch consumers
    that assume one chunk per reply, trim each delta, or lose the spaces between words, and
    joining them always gives back the original text exactly.
    """
    return _TOKEN_RE.findall(text)


def encode_calls(
    calls: Iterable[tuple[str, Mapping[str, Any] | str]],
) -> tuple[tuple[str, str], ...]:
    """(name, arguments) pairs with the arguments as JSON text; a string is kept verbatim."""
    return tuple(
        (name, args if isinstance(args, str) else json.dumps(dict(args))) for name, args in calls
    )


def dump(obj: Any) -> bytes:
    """Compact JSON, as the real APIs send it."""
    return json.dumps(obj, separators=(",", ":")).encode()


def sse(data: Any, event: str | None = None) -> bytes:
    """One server-sent event: an optional ``event:`` line, then ``data:`` with JSON."""
    name = b"" if event is None else b"event: " + event.encode() + b"\n"
    return name + b"data: " + dump(data) + b"\n\n"


@dataclass(frozen=True)
class ScriptedReply:
    """One scripted turn: the base of each fake's reply type, with the kinds all fakes share.

    A fake's reply is a frozen dataclass deriving from this one, so its fields follow
    ``kind`` and ``content``. Besides those, the shared machinery reads these fields, which
    every reply type has: ``calls`` (tool calls as (name, arguments as JSON text), each
    given a fresh id), ``delay`` (seconds between streamed events; a whole answer waits as
    long in total), ``seconds`` (how long a "hang" lasts), and the ``status``, ``message``,
    ``error_type`` and extra response ``headers`` of an "error" reply.
    """

    kind: str
    """What the handler does with the reply: "error", "hang", "disconnect" or an answer."""
    content: str = ""
    """The answer's text (for "disconnect", the text sent before the connection drops)."""

    @classmethod
    def hang(cls, seconds: float = 30.0) -> Self:
        """Accept the request, then send nothing: not even a status line.

        This is a provider that stalls before answering. The handler waits ``seconds`` (or
        until the fake stops, so leaving the ``with`` block never waits for it) and then
        closes the connection without a response. With a client timeout shorter than
        ``seconds`` the SDK raises its timeout error, for streamed and whole requests alike,
        since no headers ever arrive; if the hang ends first, its connection error. With the
        SDK's default retries, each retry consumes the next scripted reply.
        """
        return cls("hang", seconds=seconds)

    @classmethod
    def disconnect(cls, after: str = "", *, delay: float = 0.0) -> Self:
        """Start answering, then drop the connection mid-response.

        Streamed: status 200, the opening events and the pieces of ``after`` as text
        (``delay`` seconds apart), then the socket is closed without the rest of the stream
        or the terminating HTTP chunk. The SDK yields every event that arrived and then
        raises from the iteration, so a consumer cannot mistake the partial text for a
        complete answer.
        Non-streamed: headers promising a full body and half of that body, then the close;
        the SDK raises its connection error.
        """
        return cls("disconnect", content=after, delay=delay)

    @classmethod
    def _failure(
        cls,
        status: int,
        message: str,
        error_type: str,
        headers: Mapping[str, str] | None,
        **fields: Any,
    ) -> Self:
        """An "error" reply; ``fields`` are those of the fake's own error shape."""
        return cls(
            "error",
            status=status,
            message=message,
            error_type=error_type,
            headers=tuple((headers or {}).items()),
            **fields,
        )


R = TypeVar("R", bound=ScriptedReply)


@dataclass
class ScriptedTurn:
    """A request bound to the reply it consumed, and the facts derived from the two.

    ``number`` counts turns and ``call_numbers`` holds one number per scripted tool call,
    both from 1 for the fake's lifetime, so ids made from them are unique. A fake's subclass
    sets the id prefixes of its API and the request fields its prompt size is counted from.
    """

    id_prefix: ClassVar[str]
    call_id_prefix: ClassVar[str]
    prompt_fields: ClassVar[tuple[str, ...]] = ("messages", "tools")

    reply: Any
    body: dict[str, Any]
    number: int
    call_numbers: list[int]

    @property
    def response_id(self) -> str:
        return f"{self.id_prefix}{self.number}"

    @property
    def request_id(self) -> str:
        return f"req_fake{self.number}"

    @property
    def call_ids(self) -> list[str]:
        """One id per scripted tool call, which clients use to match results to calls."""
        return [f"{self.call_id_prefix}{n}" for n in self.call_numbers]

    @property
    def stream(self) -> bool:
        return self.body.get("stream") is True

    @cached_property
    def prompt_tokens(self) -> int:
        """A rough prompt size for usage reports: about four characters of JSON a token."""
        prompt = [self.body.get(name) for name in self.prompt_fields]
        return max(1, len(json.dumps(prompt)) // 4)


class ScriptedHandler(BaseHTTPRequestHandler):
    """Serves one connection; every response closes it, so no thread idles on keep-alive.

    ``POST`` to ``endpoint`` with a JSON object body goes to ``_answer``, which takes the next
    turn and ``_serve``s it. ``_serve`` plays a scripted turn: an ``error`` reply as an error
    body, a ``hang`` as silence, and the ``answer_kinds`` as one JSON object (``_render``) or
    as a chunked stream of ``_stream_frames`` followed by ``stream_end``. A ``disconnect``
    reply is cut off part way. Every error, scripted or not, goes out through
    ``_send_failure`` in the shape of the fake's ``_error_body``.
    """

    protocol_version = "HTTP/1.1"
    # A client that stalls mid-request cannot pin a handler thread (and so ``stop``) for long.
    timeout = 10
    server: ScriptedHTTPServer

    endpoint: ClassVar[str]
    """The path that ``POST`` requests are answered on, such as ``/v1/messages``."""
    request_id_header: ClassVar[str]
    """The response header that carries the request id."""
    answer_kinds: ClassVar[frozenset[str]]
    """Reply kinds answered with content, whole or streamed."""
    stream_end: ClassVar[bytes] = b""
    """A last event sent after a complete stream (none when empty)."""
    not_found: ClassVar[tuple[str, str]]
    """(error type, message) for a path that is not served; ``{method}`` and ``{path}``
    in the message are filled in."""
    bad_body: ClassVar[tuple[str, str]]
    """(error type, message) for a body that is not a JSON object."""
    no_reply: ClassVar[tuple[str, str | None]]
    """(error type, code) for a request that finds neither a scripted reply nor a default;
    it is answered with status 500."""

    def log_message(self, format: str, *args: Any) -> None:
        """Stay silent: a line on stderr per request would bury the test output."""

    @property
    def fake(self) -> Any:
        """The fake this handler serves for."""
        return self.server.fake

    # ----- what a fake supplies --------------------------------------------------------------

    def _error_body(self, error_type: str, message: str, code: str | None) -> dict[str, Any]:
        """The API's JSON error body; ``code`` is for APIs whose errors carry one."""
        raise NotImplementedError

    def _default_error_type(self, status: int) -> str:
        """The error type the real API sends with a status."""
        raise NotImplementedError

    def _render(self, turn: Any) -> tuple[Any, int]:
        """The whole response object and how many streamed pieces its generation stands for."""
        raise NotImplementedError

    def _stream_frames(self, turn: Any) -> list[bytes]:
        """The server-sent events of a streamed answer, in order."""
        raise NotImplementedError

    # ----- requests ------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._send_not_found()

    def do_POST(self) -> None:
        if self._route() != self.endpoint:
            self._send_not_found()
            return
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            self._send_failure(400, *self.bad_body)
            return
        self._answer(body)

    def _answer(self, body: dict[str, Any]) -> None:
        """Answer a parsed request body; a fake that refuses some requests checks them first."""
        turn = self.fake.take_turn(body)
        if turn is None:
            error_type, code = self.no_reply
            message = (
                f"{type(self.fake).__name__}: no reply was scripted for this request; "
                "call fake.script(...) or set fake.default"
            )
            self._send_failure(500, error_type, message, code=code)
        else:
            self._serve(turn)

    def _route(self) -> str:
        return self.path.split("?", 1)[0].rstrip("/")

    def _serve(self, turn: ScriptedTurn) -> None:
        reply = turn.reply
        if reply.kind == "error":
            self._send_failure(
                reply.status,
                reply.error_type or self._default_error_type(reply.status),
                reply.message,
                # Only some APIs' errors carry a code, and only their replies script one.
                code=getattr(reply, "code", None),
                headers=[*reply.headers, (self.request_id_header, turn.request_id)],
            )
        elif reply.kind == "hang":
            self.fake.stopping.wait(reply.seconds)
            self.close_connection = True
        elif reply.kind in self.answer_kinds:
            if turn.stream:
                self._stream(turn)
            else:
                self._complete(turn)
        else:
            raise ValueError(f"unknown {type(reply).__name__} kind {reply.kind!r}")

    # ----- responses -----------------------------------------------------------------------

    def _start(
        self, status: int, content_type: str, headers: Iterable[tuple[str, str]] = ()
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Connection", "close")
        for name, value in headers:
            self.send_header(name, value)
        self.close_connection = True

    def _send_json(
        self,
        status: int,
        obj: Any,
        headers: Iterable[tuple[str, str]] = (),
        *,
        cut_off: bool = False,
    ) -> None:
        """Send one JSON object; ``cut_off`` sends only half of it and then closes."""
        data = dump(obj)
        self._start(status, "application/json", headers)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2] if cut_off else data)

    def _send_failure(
        self,
        status: int,
        error_type: str,
        message: str,
        *,
        code: str | None = None,
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        """Send an error in the API's own shape."""
        self._send_json(status, self._error_body(error_type, message, code), headers)

    def _send_not_found(self) -> None:
        error_type, message = self.not_found
        path = self._route()
        self._send_failure(404, error_type, message.format(method=self.command, path=path))

    def _complete(self, turn: ScriptedTurn) -> None:
        """Answer ``stream: false``: generation time first, then one JSON object."""
        obj, pieces = self._render(turn)
        if self.fake.stopping.wait(turn.reply.delay * pieces):
            return
        self._send_json(
            200,
            obj,
            [(self.request_id_header, turn.request_id)],
            cut_off=turn.reply.kind == "disconnect",
        )

    def _stream(self, turn: ScriptedTurn) -> None:
        """Answer ``stream: true`` as server-sent events over chunked transfer."""
        reply = turn.reply
        frames = self._stream_frames(turn)
        self._start(
            200,
            "text/event-stream; charset=utf-8",
            [
                ("Transfer-Encoding", "chunked"),
                ("Cache-Control", "no-cache"),
                (self.request_id_header, turn.request_id),
            ],
        )
        self.end_headers()
        stopping = self.fake.stopping
        for number, frame in enumerate(frames):
            if number and reply.delay and stopping.wait(reply.delay):
                return
            if stopping.is_set():
                return
            self._send_chunk(frame)
        if reply.kind == "disconnect":
            # Returning without the terminating chunk closes the socket mid-body.
            return
        if self.stream_end:
            self._send_chunk(self.stream_end)
        self.wfile.write(b"0\r\n\r\n")

    def _send_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))


class ScriptedHTTPServer(ThreadingHTTPServer):
    """Threaded server that reports handler faults to its fake instead of printing them."""

    daemon_threads = True
    # ``server_close`` joins the handler threads; they all honour ``fake.stopping``.
    block_on_close = True

    def __init__(self, fake: ScriptedServer[Any]) -> None:
        super().__init__(("127.0.0.1", 0), fake.handler)
        self.fake = fake

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up is normal; anything else is a bug in the fake, kept for exit."""
        if isinstance(sys.exc_info()[1], _CONNECTION_DROPPED):
            return
        self.fake.record_fault(traceback.format_exc())


class BackgroundFake:
    """A fake HTTP service on a free port of 127.0.0.1, served from a background thread.

    Use it as a context manager (or call ``start``/``stop``). If the fake itself fails while
    serving, ``__exit__`` raises with the server-side traceback, unless the block is already
    raising: the client alone would only see a dropped connection. Subclasses set
    ``handler`` and may release their waiting requests in ``_release_waiters``.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[str] = []
        self._server: ScriptedHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        """Bind a free port on 127.0.0.1 and serve from a background thread."""
        if self._server is not None:
            raise RuntimeError(f"{type(self).__name__} is already started")
        self._server = ScriptedHTTPServer(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}:{self._server.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        return self

    def _release_waiters(self) -> None:
        """Let requests that wait (hangs, long polls) end, so that stopping is prompt."""

    def stop(self) -> None:
        """Release waiting requests, stop serving and wait for every handler to finish."""
        self._release_waiters()
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.stop()
        if exc_type is None and self._faults:
            raise RuntimeError(f"{type(self).__name__} failed while serving:\n" + self._faults[0])

    def record_fault(self, text: str) -> None:
        """Keep a server-side traceback for ``__exit__`` to raise."""
        with self._lock:
            self._faults.append(text)

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return self._server.server_address[1]


class ScriptedServer(BackgroundFake, Generic[R]):
    """A scripted API server on 127.0.0.1, one free port per instance.

    Use it as a context manager (or call ``start``/``stop``). Many may run at once and all
    methods are thread-safe, so tests may fire concurrent requests. Each request that gets
    as far as a reply consumes the next scripted one, falling back to ``default``.

    If the fake itself fails while serving, ``__exit__`` raises with the server-side
    traceback, unless the block is already raising: the client alone would only see a
    dropped connection.
    """

    handler: ClassVar[type[ScriptedHandler]]
    """The request handler that speaks the fake's wire format."""
    turn_type: ClassVar[type[ScriptedTurn]] = ScriptedTurn
    """What ``take_turn`` makes: the fake's own ``ScriptedTurn`` subclass."""
    api_root: ClassVar[str] = ""
    """The path ``base_url`` ends with."""

    def __init__(self, *, default: R | None = None) -> None:
        super().__init__()
        self.default: R | None = default
        """Reply used whenever the script is empty; ``None`` makes such requests fail."""
        self.stopping = threading.Event()
        """Set on stop; hangs, delays and streams wait on it so that stopping is prompt."""
        self._script: deque[R] = deque()
        self._requests: list[dict[str, Any]] = []
        self._turn_numbers = itertools.count(1)
        self._call_numbers = itertools.count(1)

    # ----- lifecycle -----------------------------------------------------------------------

    def _release_waiters(self) -> None:
        self.stopping.set()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` and ``api_root``, the value for the SDK's ``base_url``."""
        return f"http://127.0.0.1:{self.port}{self.api_root}"

    # ----- scripting and inspection --------------------------------------------------------

    def script(self, *replies: R) -> None:
        """Queue replies; each request that gets a reply consumes the next one, in order."""
        with self._lock:
            self._script.extend(replies)

    def clear_script(self) -> None:
        """Drop replies not yet consumed, so one test's leftovers never answer the next."""
        with self._lock:
            self._script.clear()

    @property
    def pending(self) -> int:
        """Scripted replies not yet consumed, so a test can assert it used them all."""
        with self._lock:
            return len(self._script)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Parsed JSON bodies of the requests received so far, in arrival order.

        Every parsed request is recorded, including ones refused or answered with an error or
        with "no reply was scripted", because those are what a failing test needs to see.
        """
        with self._lock:
            return list(self._requests)

    # ----- used by the request handlers ----------------------------------------------------

    def record_request(self, body: dict[str, Any]) -> None:
        """Add a parsed request body to ``requests``."""
        with self._lock:
            self._record(body)

    def _record(self, body: dict[str, Any]) -> None:
        """Record a request; called with the lock held, so a fake may note more from it."""
        self._requests.append(body)

    def take_turn(self, body: dict[str, Any]) -> ScriptedTurn | None:
        """Record a request and bind it to the next reply; ``None`` when nothing is left.

        Recording and taking the reply are one step, so ``requests`` lists requests in the
        order they took their replies, even when they arrive at once.
        """
        with self._lock:
            self._record(body)
            reply = self._script.popleft() if self._script else self.default
            if reply is None:
                return None
            number = next(self._turn_numbers)
            call_numbers = [next(self._call_numbers) for _ in reply.calls]
        return self.turn_type(reply=reply, body=body, number=number, call_numbers=call_numbers)
