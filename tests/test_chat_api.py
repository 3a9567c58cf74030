"""End-to-end tests of the chat API: a real `hermes web` process driven over HTTP and SSE.

The model provider is the scripted OpenAI-compatible server from `tests/fakes`, reached by
the real provider code over real sockets; each test scripts the provider turns it expects.
"""

from __future__ import annotations

import concurrent.futures
import http.client
import json
import socket
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.support import ServerProcess, request

WAIT = 10.0  # the longest any single wait in this module may take
TERMINAL = ("stream_end", "apperror", "cancel")
SLOW_ANSWER = (
    "Once upon a time there was a lighthouse keeper who counted every wave that broke "
    "against the rocks below and wrote each number in a very long book"
)


# ── plumbing ─────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Event:
    id: str
    name: str
    data: Any

    @property
    def seq(self) -> int:
        return int(self.id.rpartition(":")[2])


class EventStream:
    """One open SSE connection to `/api/chat/stream`, read event by event."""

    def __init__(
        self,
        base: str,
        stream_id: str,
        *,
        last_event_id: str | None = None,
        after: str | None = None,
    ) -> None:
        parts = urllib.parse.urlsplit(base)
        self._conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=WAIT)
        self._conn.connect()
        self._sock: socket.socket = self._conn.sock
        query = {"stream_id": stream_id}
        if after is not None:
            query["after"] = after
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        self._conn.request(
            "GET", "/api/chat/stream?" + urllib.parse.urlencode(query), headers=headers
        )
        self._response = self._conn.getresponse()
        self.status = self._response.status
        self.content_type = self._response.getheader("Content-Type") or ""
        self.events: list[Event] = []
        self.closed_by_server = False

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._response.close()
        self._conn.close()
        self._sock.close()

    def next_event(self, deadline: float) -> Event | None:
        """The next event, or None when the server ends the response."""
        fields: dict[str, str] = {}
        data: list[str] = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no SSE event in time; so far: {self._names()}")
            self._sock.settimeout(remaining)
            try:
                raw = self._response.readline()
            except TimeoutError:
                raise AssertionError(f"SSE stalled; so far: {self._names()}") from None
            if not raw:
                self.closed_by_server = True
                return None
            line = raw.decode().rstrip("\r\n")
            if line.startswith(":"):
                continue  # heartbeat comment
            if line:
                key, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if key == "data":
                    data.append(value)
                elif key in ("id", "event"):
                    fields[key] = value
                continue
            if not data and "event" not in fields:
                fields.clear()  # a block with only `retry:`
                continue
            payload = json.loads("\n".join(data)) if data else None
            event = Event(fields.get("id", ""), fields.get("event", "message"), payload)
            self.events.append(event)
            return event

    def read_until(self, stop: Callable[[Event], bool], timeout: float = WAIT) -> list[Event]:
        """Read until an event satisfies `stop` (included) or the server ends the response."""
        deadline = time.monotonic() + timeout
        read: list[Event] = []
        while True:
            event = self.next_event(deadline)
            if event is None:
                return read
            read.append(event)
            if stop(event):
                return read

    def read_to_end(self, timeout: float = WAIT) -> list[Event]:
        return self.read_until(lambda e: e.name in TERMINAL, timeout)

    def _names(self) -> list[str]:
        return [e.name for e in self.events]


def names(events: list[Event]) -> list[str]:
    return [e.name for e in events]


def tokens_text(events: list[Event]) -> str:
    return "".join(e.data["text"] for e in events if e.name == "token")


def server_env(fake: FakeOpenAI, *, titles: bool) -> dict[str, str]:
    return {
        "HERMES_PROVIDER": "openai",
        "HERMES_BASE_URL": fake.base_url,
        "HERMES_API_KEY": "k",
        "HERMES_MODEL": "fake-model",
        "HERMES_MAX_RETRIES": "0",
        "HERMES_APPROVAL_MODE": "ask",
        "HERMES_LLM_TITLES": "1" if titles else "0",
    }


def new_session(server: ServerProcess, workspace: Path | None = None) -> str:
    body = {"workspace": str(workspace)} if workspace else {}
    reply = request(server.base, "POST", "/api/session/new", body)
    assert reply.status == 200, reply.body
    return reply.json["session"]["session_id"]


def start(server: ServerProcess, sid: str, message: str) -> str:
    reply = request(server.base, "POST", "/api/chat/start", {"session_id": sid, "message": message})
    assert reply.status == 200, reply.body
    assert reply.json["session_id"] == sid
    return reply.json["stream_id"]


def session(server: ServerProcess, sid: str) -> dict[str, Any]:
    reply = request(server.base, "GET", f"/api/session?session_id={sid}")
    assert reply.status == 200, reply.body
    return reply.json["session"]


def stream_status(server: ServerProcess, stream_id: str) -> dict[str, Any]:
    reply = request(server.base, "GET", f"/api/chat/stream/status?stream_id={stream_id}")
    assert reply.status == 200, reply.body
    return reply.json


def run_to_end(server: ServerProcess, sid: str, message: str) -> tuple[str, list[Event]]:
    stream_id = start(server, sid, message)
    with EventStream(server.base, stream_id) as sse:
        return stream_id, sse.read_to_end()


def wait_until(predicate: Callable[[], bool], timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def wait_run_over(server: ServerProcess, stream_id: str) -> None:
    wait_until(lambda: not stream_status(server, stream_id)["active"])


def workspace_for(server: ServerProcess, name: str) -> Path:
    path = server.workspace / name
    path.mkdir()
    return path


# ── fixtures ─────────────────────────────────────────────────────────────────────────────


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as provider:
        yield provider


@pytest.fixture(scope="module")
def server(tmp_path_factory, fake) -> Iterator[ServerProcess]:
    process = ServerProcess(
        tmp_path_factory.mktemp("chat"), extra_env=server_env(fake, titles=False)
    )
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def titled_server(tmp_path_factory, fake) -> Iterator[ServerProcess]:
    process = ServerProcess(
        tmp_path_factory.mktemp("chat-titles"), extra_env=server_env(fake, titles=True)
    )
    process.start()
    yield process
    process.stop()


@pytest.fixture(autouse=True)
def empty_script(fake) -> Iterator[None]:
    """Every test starts from an empty provider script, whatever an earlier one left."""
    while fake.pending:
        fake.take_turn({})
    yield


# ── streaming a turn ─────────────────────────────────────────────────────────────────────


def test_tokens_arrive_in_order_and_join_into_the_answer_kept_in_the_transcript(server, fake):
    answer = "The quick brown fox jumps over the lazy dog, twice."
    fake.script(Reply.text(answer, delay=0.01, usage=(12, 9)))
    sid = new_session(server)

    _, events = run_to_end(server, sid, "Tell me about the fox")

    tokens = [e for e in events if e.name == "token"]
    assert len(tokens) > 5
    assert tokens_text(events) == answer
    assert [e.seq for e in tokens] == sorted(e.seq for e in tokens)
    assert names(events)[-2:] == ["done", "stream_end"]
    assert max(e.seq for e in tokens) < events[-2].seq
    transcript = session(server, sid)["messages"]
    assert [(m["role"], m["content"]) for m in transcript] == [
        ("user", "Tell me about the fox"),
        ("assistant", answer),
    ]
    assert not any(m.get("_error") or m.get("_partial") for m in transcript)


def test_tool_events_come_before_the_answer_and_the_transcript_keeps_call_and_result(server, fake):
    workspace = workspace_for(server, "ws-tools")
    (workspace / "notes.txt").write_text("remember the milk\n")
    fake.script(
        Reply.tool_calls([("list_dir", {"path": "."})]),
        Reply.text("There is one file: notes.txt.", usage=(30, 8)),
    )
    sid = new_session(server, workspace)

    _, events = run_to_end(server, sid, "What is in my workspace?")

    order = names(events)
    first_token = order.index("token")
    assert order.index("tool") < order.index("tool_complete") < first_token
    tool = events[order.index("tool")].data
    assert tool["name"] == "list_dir"
    assert tool["args"] == {"path": "."}
    complete = events[order.index("tool_complete")].data
    assert complete["name"] == "list_dir"
    assert complete["is_error"] is False
    assert tokens_text(events) == "There is one file: notes.txt."
    assert order[-2:] == ["done", "stream_end"]

    transcript = session(server, sid)["messages"]
    assert [m["role"] for m in transcript] == ["user", "assistant", "tool", "assistant"]
    call = transcript[1]["tool_calls"][0]
    assert call["function"]["name"] == "list_dir"
    assert json.loads(call["function"]["arguments"]) == {"path": "."}
    assert transcript[2]["tool_call_id"] == call["id"]
    assert "notes.txt" in transcript[2]["content"]
    assert transcript[3]["content"] == "There is one file: notes.txt."


def test_usage_is_counted_per_turn_and_summed_over_the_session(server, fake):
    fake.script(
        Reply.text("First answer.", usage=(100, 20)),
        Reply.text("Second answer.", usage=(250, 30)),
    )
    sid = new_session(server)

    _, first = run_to_end(server, sid, "first question")
    _, second = run_to_end(server, sid, "second question")

    first_done = next(e for e in first if e.name == "done").data
    second_done = next(e for e in second if e.name == "done").data
    assert (first_done["usage"]["input_tokens"], first_done["usage"]["output_tokens"]) == (
        100,
        20,
    )
    assert (second_done["usage"]["input_tokens"], second_done["usage"]["output_tokens"]) == (
        250,
        30,
    )
    assert (second_done["session"]["input_tokens"], second_done["session"]["output_tokens"]) == (
        350,
        50,
    )
    stored = session(server, sid)
    assert (stored["input_tokens"], stored["output_tokens"]) == (350, 50)
    usage = request(server.base, "GET", f"/api/session/usage?session_id={sid}").json
    assert (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]) == (
        350,
        50,
        400,
    )
    assert [(m["role"], m["content"]) for m in stored["messages"]] == [
        ("user", "first question"),
        ("assistant", "First answer."),
        ("user", "second question"),
        ("assistant", "Second answer."),
    ]


# ── cancel ───────────────────────────────────────────────────────────────────────────────


def test_cancel_mid_stream_keeps_user_message_and_partial_text_and_is_not_overwritten(server, fake):
    fake.script(Reply.text(SLOW_ANSWER, delay=0.15))
    sid = new_session(server)
    stream_id = start(server, sid, "Tell me a long story")

    with EventStream(server.base, stream_id) as sse:
        before = sse.read_until(lambda e: sum(x.name == "token" for x in sse.events) >= 3)
        assert names(before).count("token") == 3
        reply = request(server.base, "POST", "/api/chat/cancel", {"stream_id": stream_id})
        assert reply.status == 200
        assert reply.json["cancelled"] is True
        rest = sse.read_to_end()
    events = before + rest
    assert events[-1].name == "cancel"
    assert "done" not in names(events)
    seen = tokens_text(events)

    stored = session(server, sid)
    assert stored["title"] == "Tell me a long story", "a cancelled first turn names the chat"
    transcript = stored["messages"]
    assert [m["role"] for m in transcript] == ["user", "assistant", "assistant"]
    assert transcript[0]["content"] == "Tell me a long story"
    partial = transcript[1]
    assert partial.get("_partial") is True
    assert partial["content"].startswith(seen)
    assert SLOW_ANSWER.startswith(partial["content"])
    assert len(partial["content"]) < len(SLOW_ANSWER)
    assert partial.get("_stopped") is True
    marker = transcript[2]
    assert marker.get("_stopped") is True
    assert "_error" not in marker, "a stop is the user's choice, not a failure"
    assert marker["content"] == "Stopped."

    # The worker notices the cancel and returns; its return must leave the saved turn alone.
    wait_run_over(server, stream_id)
    time.sleep(0.5)
    after = session(server, sid)
    assert after["messages"] == transcript
    assert after["is_streaming"] is False
    assert after["active_stream_id"] is None
    assert after["pending_user_message"] is None

    fake.script(Reply.text("Go on then."))
    run_to_end(server, sid, "continue")
    sent = [m.get("content") for m in fake.requests[-1]["messages"]]
    assert partial["content"] in sent, "the model sees what the user saw of its answer"
    assert "Stopped." not in sent, "the stop note is for the page, not the model"


def test_cancel_after_a_tool_call_keeps_the_call_and_only_the_new_partial_text(server, fake):
    fake.script(
        Reply.tool_calls([("list_dir", {"path": "."})], content="Let me look first."),
        Reply.text(SLOW_ANSWER, delay=0.15),
    )
    sid = new_session(server)
    stream_id = start(server, sid, "What is in the folder?")
    with EventStream(server.base, stream_id) as sse:
        sse.read_until(lambda e: sum(x.name == "token" for x in sse.events) >= 6)
        assert request(server.base, "POST", "/api/chat/cancel", {"stream_id": stream_id}).json[
            "cancelled"
        ]
        sse.read_to_end()
    wait_run_over(server, stream_id)
    transcript = session(server, sid)["messages"]
    assert [m["role"] for m in transcript] == [
        "user",
        "assistant",
        "tool",
        "assistant",
        "assistant",
    ]
    call, result, partial, marker = transcript[1:]
    assert call["content"] == "Let me look first." and call["tool_calls"]
    assert result["tool_call_id"] == call["tool_calls"][0]["id"]
    assert partial.get("_partial") is True
    assert SLOW_ANSWER.startswith(partial["content"]), "no text of the first call is repeated"
    assert marker.get("_stopped") is True


def test_cancel_of_unknown_or_finished_stream_reports_not_cancelled(server, fake):
    for reply in (
        request(server.base, "GET", "/api/chat/cancel?stream_id=nosuchstream"),
        request(server.base, "POST", "/api/chat/cancel", {"stream_id": "nosuchstream"}),
    ):
        assert reply.status == 200
        assert reply.json["cancelled"] is False

    fake.script(Reply.text("All done.", usage=(5, 3)))
    sid = new_session(server)
    stream_id, events = run_to_end(server, sid, "quick one")
    assert events[-1].name == "stream_end"
    for reply in (
        request(server.base, "GET", f"/api/chat/cancel?stream_id={stream_id}"),
        request(server.base, "POST", "/api/chat/cancel", {"stream_id": stream_id}),
    ):
        assert reply.status == 200
        assert reply.json["cancelled"] is False

    # Nothing was added to the finished run or to its transcript.
    with EventStream(server.base, stream_id) as sse:
        assert sse.read_to_end() == events
    with EventStream(server.base, stream_id, last_event_id=events[-1].id) as sse:
        assert sse.read_to_end() == []
    messages = session(server, sid)["messages"]
    assert [(m["role"], m["content"]) for m in messages] == [
        ("user", "quick one"),
        ("assistant", "All done."),
    ]
    missing = request(server.base, "POST", "/api/chat/cancel", {})
    assert missing.status == 400
    assert "error" in missing.json


# ── provider failures ────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("reply", "expected_type"),
    [
        (Reply.error(429, "Rate limit reached for requests"), "rate_limit"),
        (Reply.error(401, "Incorrect API key provided", code="invalid_api_key"), "auth_mismatch"),
        (
            Reply.error(404, "The model `fake-model` does not exist", code="model_not_found"),
            "model_not_found",
        ),
        (Reply.error(500, "The server had an error while processing your request"), "error"),
        (Reply.disconnect(after="Half of an answer", delay=0.01), "error"),
        (Reply.text(""), "no_response"),
    ],
    ids=["rate_limit_429", "auth_401", "model_404", "server_500", "disconnect", "empty_answer"],
)
def test_provider_failure_keeps_user_message_and_appends_error_marker(
    server, fake, reply, expected_type
):
    fake.script(reply)
    sid = new_session(server)

    stream_id, events = run_to_end(server, sid, "Will this work?")

    assert events[-1].name == "apperror"
    assert events[-1].data["type"] == expected_type
    assert events[-1].data["message"]
    assert "done" not in names(events)
    stored = session(server, sid)
    messages = stored["messages"]
    assert messages[0]["role"] == "user"
    assert messages[0]["content"] == "Will this work?"
    assert [m["role"] for m in messages].count("user") == 1
    assert messages[-1]["role"] == "assistant"
    assert messages[-1].get("_error") is True
    assert messages[-1]["content"]
    assert stored["is_streaming"] is False
    assert stored["active_stream_id"] is None
    assert stored["pending_user_message"] is None
    wait_run_over(server, stream_id)
    status = request(server.base, "GET", f"/api/session/status?session_id={sid}").json
    assert status["agent_running"] is False


# ── conflicts and validation ─────────────────────────────────────────────────────────────


def test_second_start_while_a_run_is_live_is_a_409_naming_the_active_stream(server, fake):
    fake.script(Reply.text("Slowly, slowly, we get there in the end.", delay=0.1))
    sid = new_session(server)
    stream_id = start(server, sid, "first message")

    second = request(
        server.base, "POST", "/api/chat/start", {"session_id": sid, "message": "second message"}
    )

    assert second.status == 409
    assert second.json["active_stream_id"] == stream_id
    assert second.json["error"]
    with EventStream(server.base, stream_id) as sse:
        assert sse.read_to_end()[-1].name == "stream_end"
    messages = session(server, sid)["messages"]
    assert [(m["role"], m["content"]) for m in messages] == [
        ("user", "first message"),
        ("assistant", "Slowly, slowly, we get there in the end."),
    ]

    fake.script(Reply.text("Now it is your turn."))
    _, events = run_to_end(server, sid, "second message")
    assert events[-1].name == "stream_end"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"message": "hello"}, 400),
        ({"session_id": "SID", "message": ""}, 400),
        ({"session_id": "SID", "message": "   \n "}, 400),
        ({"session_id": "SID"}, 400),
        ({"session_id": "nosuchsession123", "message": "hello"}, 404),
        ({"session_id": "../../etc/passwd", "message": "hello"}, 400),
        ({"session_id": "abc/def", "message": "hello"}, 400),
    ],
    ids=[
        "missing_session_id",
        "empty_message",
        "blank_message",
        "missing_message",
        "unknown_session",
        "path_like_id",
        "slash_in_id",
    ],
)
def test_chat_start_rejects_bad_input_with_json_error(server, fake, body, status):
    sid = new_session(server)
    if body.get("session_id") == "SID":
        body = {**body, "session_id": sid}

    reply = request(server.base, "POST", "/api/chat/start", body)

    assert reply.status == status
    assert reply.headers["content-type"].startswith("application/json")
    assert reply.json["error"]
    stored = session(server, sid)
    assert stored["messages"] == []
    assert stored["active_stream_id"] is None


# ── SSE: ids, resume, many readers ───────────────────────────────────────────────────────


def test_events_carry_ids_of_stream_id_and_consecutive_sequence_numbers(server, fake):
    fake.script(
        Reply.tool_calls([("list_dir", {"path": "."})]),
        Reply.text("Nothing much in here.", delay=0.01),
    )
    sid = new_session(server, workspace_for(server, "ws-ids"))
    stream_id = start(server, sid, "look around")

    with EventStream(server.base, stream_id) as sse:
        assert sse.status == 200
        assert sse.content_type.startswith("text/event-stream")
        events = sse.read_to_end()
        assert sse.next_event(time.monotonic() + WAIT) is None  # the server ends the response

    assert [e.id for e in events] == [f"{stream_id}:{n}" for n in range(1, len(events) + 1)]
    assert events[-1].name == "stream_end"


def test_reconnect_with_last_event_id_resumes_exactly_after_it_during_and_after_the_run(
    server, fake
):
    fake.script(Reply.text(SLOW_ANSWER, delay=0.03))
    sid = new_session(server)
    stream_id = start(server, sid, "story time")

    with EventStream(server.base, stream_id) as sse:
        head = sse.read_until(lambda e: len(sse.events) >= 4)
    assert len(head) == 4
    with EventStream(server.base, stream_id, last_event_id=head[-1].id) as sse:
        tail = sse.read_to_end()
    events = head + tail
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[-1].name == "stream_end"
    assert tokens_text(events) == SLOW_ANSWER

    # After the run has finished: the whole log from the start, and any tail of it.
    wait_run_over(server, stream_id)
    with EventStream(server.base, stream_id) as sse:
        assert sse.read_to_end() == events
    for cut in (1, 4, len(events) - 1):
        with EventStream(server.base, stream_id, last_event_id=events[cut - 1].id) as sse:
            assert sse.read_to_end() == events[cut:]
        with EventStream(server.base, stream_id, after=events[cut - 1].id) as sse:
            assert sse.read_to_end() == events[cut:]


def test_two_concurrent_readers_of_one_run_see_identical_event_sequences(server, fake):
    fake.script(Reply.text(SLOW_ANSWER, delay=0.02))
    sid = new_session(server)
    stream_id = start(server, sid, "tell us both")

    readers = [EventStream(server.base, stream_id) for _ in range(2)]
    try:
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            first, second = pool.map(lambda sse: sse.read_to_end(), readers)
    finally:
        for sse in readers:
            sse.close()

    assert first == second
    assert [e.seq for e in first] == list(range(1, len(first) + 1))
    assert first[-1].name == "stream_end"
    assert tokens_text(first) == SLOW_ANSWER


def test_unknown_stream_is_a_404_json_error(server):
    reply = request(server.base, "GET", "/api/chat/stream?stream_id=nosuchstream")
    assert reply.status == 404
    assert reply.headers["content-type"].startswith("application/json")
    assert reply.json["error"]

    missing = request(server.base, "GET", "/api/chat/stream")
    assert missing.status == 400
    assert missing.json["error"]


def test_stream_status_reports_live_then_finished_and_unknown(server, fake):
    fake.script(Reply.text("Counting sheep one by one until the end.", delay=0.1))
    sid = new_session(server)
    stream_id = start(server, sid, "count")

    live = stream_status(server, stream_id)
    assert live == {"active": True, "stream_id": stream_id, "finished": False}
    with EventStream(server.base, stream_id) as sse:
        sse.read_to_end()
    wait_run_over(server, stream_id)
    assert stream_status(server, stream_id) == {
        "active": False,
        "stream_id": stream_id,
        "finished": True,
    }
    assert stream_status(server, "nosuchstream") == {
        "active": False,
        "stream_id": "nosuchstream",
        "finished": False,
    }
    missing = request(server.base, "GET", "/api/chat/stream/status")
    assert missing.status == 400
    assert missing.json["error"]


# ── approvals ────────────────────────────────────────────────────────────────────────────


def _run_until_approval(
    server: ServerProcess, fake: FakeOpenAI, name: str, command: str
) -> tuple[str, Path, EventStream, list[Event]]:
    workspace = workspace_for(server, name)
    fake.script(
        Reply.tool_calls([("terminal", {"command": command})]),
        Reply.text("I asked to run it."),
    )
    sid = new_session(server, workspace)
    stream_id = start(server, sid, "please create the file")
    sse = EventStream(server.base, stream_id)
    head = sse.read_until(lambda e: e.name == "approval")
    return sid, workspace, sse, head


def test_denied_approval_never_runs_the_command_and_the_run_completes(server, fake):
    sid, workspace, sse, head = _run_until_approval(server, fake, "ws-deny", "touch approved.txt")
    with sse:
        assert head[-1].name == "approval"
        assert head[-1].data["command"] == "touch approved.txt"
        pending = request(server.base, "GET", f"/api/approval/pending?session_id={sid}").json
        assert pending["pending_count"] == 1
        assert pending["pending"]["command"] == "touch approved.txt"
        assert pending["pending"]["approval_id"] == head[-1].data["approval_id"]

        bad = request(
            server.base, "POST", "/api/approval/respond", {"session_id": sid, "choice": "maybe"}
        )
        assert bad.status == 400
        assert bad.json["error"]
        still = request(server.base, "GET", f"/api/approval/pending?session_id={sid}").json
        assert still["pending_count"] == 1

        answer = request(
            server.base, "POST", "/api/approval/respond", {"session_id": sid, "choice": "deny"}
        )
        assert answer.status == 200
        assert answer.json == {"ok": True, "choice": "deny"}
        rest = sse.read_to_end()

    events = head + rest
    assert names(events)[-2:] == ["done", "stream_end"]
    complete = next(e for e in events if e.name == "tool_complete").data
    assert complete["name"] == "terminal"
    assert complete["is_error"] is True
    assert not (workspace / "approved.txt").exists()
    messages = session(server, sid)["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant"]
    assert "denied" in messages[2]["content"]
    assert messages[3]["content"] == "I asked to run it."
    after = request(server.base, "GET", f"/api/approval/pending?session_id={sid}").json
    assert after["pending_count"] == 0
    assert after["pending"] is None


def test_approval_once_runs_the_command(server, fake):
    sid, workspace, sse, head = _run_until_approval(server, fake, "ws-once", "touch approved.txt")
    with sse:
        assert head[-1].data["command"] == "touch approved.txt"
        assert not (workspace / "approved.txt").exists()
        answer = request(
            server.base, "POST", "/api/approval/respond", {"session_id": sid, "choice": "once"}
        )
        assert answer.status == 200
        rest = sse.read_to_end()

    assert names(rest)[-2:] == ["done", "stream_end"]
    complete = next(e for e in rest if e.name == "tool_complete").data
    assert complete["is_error"] is False
    assert (workspace / "approved.txt").is_file()
    messages = session(server, sid)["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant"]
    assert "exit code 0" in messages[2]["content"]


def test_approval_respond_without_anything_pending_is_a_404(server):
    sid = new_session(server)
    reply = request(
        server.base, "POST", "/api/approval/respond", {"session_id": sid, "choice": "once"}
    )
    assert reply.status == 404
    assert reply.json["error"]


# ── titles ───────────────────────────────────────────────────────────────────────────────


def test_first_turn_ends_with_generated_title_then_stream_end(titled_server, fake):
    fake.script(
        Reply.text("Paris is the capital of France.", usage=(10, 7)),
        Reply.text("French Capital Facts"),
    )
    sid = new_session(titled_server)

    _, events = run_to_end(titled_server, sid, "What is the capital of France?")

    assert names(events)[-2:] == ["title", "stream_end"]
    assert names(events).index("done") < names(events).index("title")
    assert events[-2].data == {"session_id": sid, "title": "French Capital Facts"}
    assert fake.pending == 0
    assert session(titled_server, sid)["title"] == "French Capital Facts"
    listed = request(titled_server.base, "GET", "/api/sessions").json["sessions"]
    assert next(row for row in listed if row["session_id"] == sid)["title"] == (
        "French Capital Facts"
    )


def test_session_renamed_during_its_first_turn_keeps_the_users_title(titled_server, fake):
    fake.script(Reply.text("Let me think about that for a little while.", delay=0.1))
    sid = new_session(titled_server)
    stream_id = start(titled_server, sid, "Think about something")

    with EventStream(titled_server.base, stream_id) as sse:
        sse.read_until(lambda e: e.name == "token")
        requests_before = len(fake.requests)
        renamed = request(
            titled_server.base,
            "POST",
            "/api/session/rename",
            {"session_id": sid, "title": "My own name"},
        )
        assert renamed.status == 200
        rest = sse.read_to_end()

    assert rest[-1].name == "stream_end"
    assert "title" not in names(rest)
    assert len(fake.requests) == requests_before  # no title was asked of the model
    stored = session(titled_server, sid)
    assert stored["title"] == "My own name"
    assert [(m["role"], m["content"]) for m in stored["messages"]] == [
        ("user", "Think about something"),
        ("assistant", "Let me think about that for a little while."),
    ]


# ── the conversation's model ─────────────────────────────────────────────────────────────


def test_a_model_sent_with_a_message_stays_with_the_session_until_reset_to_the_default(
    server, fake
):
    sid = new_session(server)

    def turn(extra: dict[str, Any]) -> str:
        fake.script(Reply.text("ok"))
        body = {"session_id": sid, "message": "which model?", **extra}
        reply = request(server.base, "POST", "/api/chat/start", body)
        assert reply.status == 200, reply.body
        wait_run_over(server, reply.json["stream_id"])
        return fake.requests[-1]["model"]

    assert turn({}) == session(server, sid)["model"], "a new session's model"
    assert turn({"model": "fake-large"}) == "fake-large"
    assert session(server, sid)["model"] == "fake-large"
    assert turn({}) == "fake-large", "a later message without a model keeps the session's"
    assert turn({"model": ""}) == "fake-model", '"" follows the model in the settings'
    assert session(server, sid)["model"] == ""
    assert turn({}) == "fake-model"
