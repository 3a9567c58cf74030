"""The generic webhook of `hermes gateway`: signed requests over real HTTP, answered by the
scripted provider; signatures are computed here from the documented format."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.gateway_support import TIMEOUT, GatewayProcess, post_hook, signature
from tests.support import free_port, request

SECRET = "ci-secret-0123456789abcdef"
SLOW_SECRET = "slow-secret-0123456789abcdef"


class CallbackReceiver(ThreadingHTTPServer):
    """Where a hook's long answers are posted: keeps each request's headers and body."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append((dict(self.headers.items()), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                """Quiet."""

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/callback"


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    receiver = CallbackReceiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    port = free_port()
    with FakeOpenAI() as llm:
        gateway = GatewayProcess(
            tmp_path_factory.mktemp("gateway-webhook"),
            llm,
            HERMES_GATEWAY_PLATFORMS="webhook",
            HERMES_WEBHOOK_PORT=str(port),
            HERMES_WEBHOOK_SECRETS=f"ci={SECRET},slow={SLOW_SECRET}",
            HERMES_WEBHOOK_CALLBACK_URLS=f"slow={receiver.url}",
            HERMES_WEBHOOK_REPLY_TIMEOUT="0.5",
        ).start()
        gateway.wait(lambda: _listening(port), "webhook server")
        yield llm, gateway, port, receiver
        assert gateway.stop() == 0, gateway.log()
    receiver.shutdown()


@pytest.fixture
def llm(world) -> FakeOpenAI:
    world[0].clear_script()
    return world[0]


@pytest.fixture
def gateway(world) -> GatewayProcess:
    return world[1]


@pytest.fixture
def port(world) -> int:
    return world[2]


def message(chat: str, text: str, user: str = "u1") -> dict:
    return {"chat_id": chat, "user_id": user, "text": text}


def test_a_signed_request_is_answered_in_the_response_and_recorded(llm, gateway, port):
    llm.script(Reply.text("pong"))
    reply = post_hook(port, "ci", SECRET, message("build-1", "ping"))
    assert reply.status == 200, reply.body
    assert reply.json["status"] == "answered"
    assert reply.json["reply"] == "pong"
    db = gateway.db()
    try:
        session = db.get_session(reply.json["session_id"])
        assert session["source"] == "webhook"
        assert session["user_id"] == "u1"
        conversation = db.get_messages_as_conversation(session["id"])
    finally:
        db.close()
    assert [(m["role"], m["content"]) for m in conversation] == [
        ("user", "ping"),
        ("assistant", "pong"),
    ]


def test_a_chat_keeps_its_conversation_across_requests(llm, port):
    llm.script(Reply.text("hello Ada"), Reply.text("you are Ada"))
    chat = {"chat_id": 77, "user_id": 5, "text": "I am Ada"}  # numbers are taken as ids too
    first = post_hook(port, "ci", SECRET, chat)
    second = post_hook(port, "ci", SECRET, {**chat, "text": "who am I?"})
    assert (first.json["reply"], second.json["reply"]) == ("hello Ada", "you are Ada")
    assert first.json["session_id"] == second.json["session_id"]
    said = [m["content"] for m in llm.requests[-1]["messages"] if m["role"] != "system"]
    assert said == ["I am Ada", "hello Ada", "who am I?"]


def test_an_unsigned_request_is_refused(llm, port):
    before = len(llm.requests)
    reply = post_hook(port, "ci", None, message("build-2", "ping"))
    assert reply.status == 401
    assert "error" in reply.json
    assert len(llm.requests) == before


def test_a_request_signed_with_another_secret_is_refused(llm, port):
    reply = post_hook(port, "ci", SLOW_SECRET, message("build-2", "ping"))
    assert reply.status == 401
    assert reply.json == {"error": "bad signature"}


def test_a_replayed_request_is_refused(llm, port):
    llm.script(Reply.text("once"))
    body = json.dumps(message("build-3", "deploy")).encode()
    stamp = int(time.time())
    headers = {
        "X-Hermes-Timestamp": str(stamp),
        "X-Hermes-Signature": signature(SECRET, stamp, body),
    }
    base = f"http://127.0.0.1:{port}"
    first = request(base, "POST", "/hook/ci", data=body, headers=headers)
    again = request(base, "POST", "/hook/ci", data=body, headers=headers)
    assert (first.status, first.json["reply"]) == (200, "once")
    assert again.status == 401
    assert "already received" in again.json["error"]


@pytest.mark.parametrize("skew", [-301, 301])
def test_a_signature_outside_the_five_minute_window_is_refused(llm, port, skew):
    before = len(llm.requests)
    reply = post_hook(
        port, "ci", SECRET, message("build-4", "old news"), timestamp=int(time.time()) + skew
    )
    assert reply.status == 401
    assert "too old" in reply.json["error"]
    assert len(llm.requests) == before


def test_an_unknown_hook_is_404(port):
    reply = post_hook(port, "nope", SECRET, message("x", "hi"))
    assert reply.status == 404
    assert reply.json == {"error": "unknown hook: nope"}


@pytest.mark.parametrize(
    "raw",
    [b"not json", b'{"chat_id": "c", "user_id": "u"}', b'{"chat_id": "c", "user_id": "u", '
     b'"text": "hi", "extra": 1}', b'{"chat_id": "c", "user_id": "u", "text": ""}'],
    ids=["not-json", "no-text", "unknown-field", "empty-text"],
)  # fmt: skip
def test_a_signed_but_malformed_body_is_400(port, raw):
    reply = post_hook(port, "ci", SECRET, None, raw=raw)
    assert reply.status == 400
    assert reply.json["error"]


def test_an_oversized_body_is_413(port):
    raw = json.dumps(message("big", "x" * (1024 * 1024 + 10))).encode()
    reply = post_hook(port, "ci", SECRET, None, raw=raw)
    assert reply.status == 413
    assert "error" in reply.json


def test_commands_work_over_the_webhook(llm, port):
    llm.script(Reply.text("first", usage=(10, 2)))
    post_hook(port, "ci", SECRET, message("build-5", "go"))
    usage = post_hook(port, "ci", SECRET, message("build-5", "/usage"))
    assert "10 in, 2 out" in usage.json["reply"]
    fresh = post_hook(port, "ci", SECRET, message("build-5", "/new"))
    assert fresh.json["reply"].startswith("✨ New conversation")


def test_a_long_turn_is_answered_at_the_callback_url_signed(llm, port, world):
    receiver = world[3]
    llm.script(Reply.text("a slow answer arrives", delay=0.4))
    reply = post_hook(port, "slow", SLOW_SECRET, message("job-9", "take your time"))
    assert reply.status == 202
    assert reply.json["status"] == "accepted"
    deadline = time.monotonic() + TIMEOUT
    while not receiver.received and time.monotonic() < deadline:
        time.sleep(0.05)
    [(headers, body)] = receiver.received
    stamp = int(headers["X-Hermes-Timestamp"])
    assert headers["X-Hermes-Signature"] == signature(SLOW_SECRET, stamp, body)
    posted = json.loads(body)
    assert posted["id"] == reply.json["id"]
    assert posted["reply"] == "a slow answer arrives"
    assert (posted["chat_id"], posted["user_id"]) == ("job-9", "u1")


def test_a_busy_port_is_a_clear_error_not_a_traceback(tmp_path):
    with socket.socket() as taken, FakeOpenAI() as model:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        gateway = GatewayProcess(
            tmp_path,
            model,
            HERMES_GATEWAY_PLATFORMS="webhook",
            HERMES_WEBHOOK_PORT=str(port),
            HERMES_WEBHOOK_SECRETS=f"ci={SECRET}",
        )
        result = gateway.run_to_exit()

    assert result.returncode == 1, result.stderr
    assert f"could not listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr and "ERROR" not in result.stderr, result.stderr
