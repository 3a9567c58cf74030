"""Sessions and connections under attack: a logged-out cookie, a forged client address, and
clients that open connections and never finish a request."""

from __future__ import annotations

import resource
import socket
import time
from collections.abc import Iterator

import pytest

from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.support import ServerProcess, fake_provider_env, read_events, request

PASSWORD = "a-long-test-password"
SLOW_HEAD = b"GET /api/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


def _login(server: ServerProcess, password: str = PASSWORD, **headers: str):
    return request(server.base, "POST", "/api/auth/login", {"password": password}, headers=headers)


def _cookie(reply) -> str:
    return reply.headers["set-cookie"].split(";", 1)[0]


@pytest.fixture
def locked_server(tmp_path) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path / "srv", extra_env={"HERMES_WEBUI_PASSWORD": PASSWORD})
    server.start()
    yield server
    server.stop()


# ── logout ends the session on the server ─────────────────────────────────────────────────


def test_a_cookie_is_refused_after_logout_even_if_a_copy_is_replayed(locked_server):
    login = _login(locked_server)
    cookie, token = _cookie(login), login.json["csrf_token"]
    other = _cookie(_login(locked_server))
    assert (
        request(locked_server.base, "GET", "/api/sessions", headers={"Cookie": cookie}).status
        == 200
    )
    out = request(
        locked_server.base,
        "POST",
        "/api/auth/logout",
        {},
        headers={"Cookie": cookie, "X-Hermes-CSRF": token},
    )
    assert out.status == 200
    replayed = request(locked_server.base, "GET", "/api/sessions", headers={"Cookie": cookie})
    assert replayed.status == 401
    status = request(locked_server.base, "GET", "/api/auth/status", headers={"Cookie": cookie})
    assert status.json["authenticated"] is False
    assert (
        request(locked_server.base, "GET", "/api/sessions", headers={"Cookie": other}).status == 200
    )

    locked_server.stop()
    locked_server.start()
    replayed = request(locked_server.base, "GET", "/api/sessions", headers={"Cookie": cookie})
    assert replayed.status == 401, "a restart must not revive an ended session"
    assert (
        request(locked_server.base, "GET", "/api/sessions", headers={"Cookie": other}).status == 200
    )


def test_a_damaged_list_of_ended_sessions_ends_every_session(locked_server):
    cookie = _cookie(_login(locked_server))
    login = _login(locked_server)
    request(
        locked_server.base,
        "POST",
        "/api/auth/logout",
        {},
        headers={"Cookie": _cookie(login), "X-Hermes-CSRF": login.json["csrf_token"]},
    )
    locked_server.stop()
    (locked_server.state_dir / "revoked_sessions.json").write_bytes(b"\x00garbage{")
    locked_server.start()
    assert (
        request(locked_server.base, "GET", "/api/sessions", headers={"Cookie": cookie}).status
        == 401
    )
    fresh = _cookie(_login(locked_server))
    assert (
        request(locked_server.base, "GET", "/api/sessions", headers={"Cookie": fresh}).status == 200
    )


# ── forwarded headers are believed only from listed proxies ──────────────────────────────


def test_rotating_x_forwarded_for_does_not_escape_the_login_throttle(locked_server):
    statuses = [
        _login(locked_server, f"guess {i}", **{"X-Forwarded-For": f"198.51.100.{i}"}).status
        for i in range(7)
    ]
    assert statuses == [401] * 5 + [429] * 2


def test_behind_a_listed_proxy_the_throttle_counts_each_forwarded_client(tmp_path):
    server = ServerProcess(
        tmp_path / "srv",
        extra_env={"HERMES_WEBUI_PASSWORD": PASSWORD, "HERMES_TRUSTED_PROXIES": "127.0.0.1/32"},
    )
    server.start()
    try:
        guesser = {"X-Forwarded-For": "203.0.113.9"}
        statuses = [_login(server, f"guess {i}", **guesser).status for i in range(6)]
        assert statuses == [401] * 5 + [429]
        assert _login(server, **guesser).status == 429
        assert _login(server, **{"X-Forwarded-For": "203.0.113.10"}).status == 200
    finally:
        server.stop()


# ── connections that never finish a request ──────────────────────────────────────────────


def _raise_own_file_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, needed), hard))


def _open_slow_clients(port: int, count: int) -> list[socket.socket]:
    clients = []
    for _ in range(count):
        client = socket.create_connection(("127.0.0.1", port), timeout=5)
        client.sendall(SLOW_HEAD)
        clients.append(client)
    return clients


def _closed_by_server(client: socket.socket) -> bool:
    client.settimeout(0.05)
    try:
        return client.recv(1024) == b""
    except TimeoutError:
        return False
    except OSError:
        return True


def _soft_file_limit(pid: int) -> int:
    with open(f"/proc/{pid}/limits") as limits:
        line = next(row for row in limits if row.startswith("Max open files"))
    return int(line.split()[3])


def test_a_thousand_unfinished_requests_neither_stop_health_nor_fail_a_turn(tmp_path):
    """1,100 clients that never finish their request head, against a server started with the
    usual soft limit of 1,024 files: it raises its limit, keeps answering, finishes a turn,
    and closes every unfinished request within the 10 s deadline."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    assert hard > 4096, "this test needs a hard open-file limit above 4,096"
    _raise_own_file_limit(4096)
    with FakeOpenAI() as llm:
        server = ServerProcess(tmp_path / "srv", extra_env=fake_provider_env(llm))
        server.open_files = (1024, hard)
        server.start()
        clients: list[socket.socket] = []
        silent: list[socket.socket] = []
        try:
            assert _soft_file_limit(server.proc.pid) > 1024
            llm.script(Reply.text("still here", delay=0.05))
            sid = request(server.base, "POST", "/api/session/new", {}).json["session"]["session_id"]
            silent = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(20)]
            silent_since = time.monotonic()
            clients = _open_slow_clients(server.port, 1100)
            started = time.monotonic()
            assert request(server.base, "GET", "/health", timeout=5).status == 200
            assert time.monotonic() - started < 3
            run = request(
                server.base, "POST", "/api/chat/start", {"session_id": sid, "message": "hi"}
            )
            assert run.status == 200, run.body
            events = read_events(server.base, run.json["stream_id"], timeout=20)
            assert "done" in [name for name, _ in events], events[-3:]
            transcript = request(server.base, "GET", f"/api/session?session_id={sid}").json
            assert transcript["session"]["messages"][-1]["content"] == "still here"

            time.sleep(11)
            still_open = [c for c in clients if not _closed_by_server(c)]
            assert still_open == [], f"{len(still_open)} unfinished requests still held"
            assert "Too many open files" not in server.log()
            # Connections that never sent a byte are not requests: browsers hold such spares
            # for about 10 s, so they get 20 s before they are closed.
            assert not any(_closed_by_server(c) for c in silent)
            time.sleep(max(0.0, silent_since + 21 - time.monotonic()))
            assert all(_closed_by_server(c) for c in silent)
        finally:
            for client in clients + silent:
                client.close()
            server.stop()


def test_past_the_connection_cap_the_oldest_idle_connections_make_room(tmp_path):
    """With a hard limit of 600 files the cap is 172 connections: 400 idle clients cannot
    keep a real request out, because the longest-idle ones are shed first."""
    server = ServerProcess(tmp_path / "srv")
    server.open_files = (600, 600)
    server.start()
    clients: list[socket.socket] = []
    try:
        clients = _open_slow_clients(server.port, 400)
        for _ in range(3):
            assert request(server.base, "GET", "/health", timeout=5).status == 200
        time.sleep(0.5)
        shed = sum(_closed_by_server(c) for c in clients)
        assert shed >= 400 - 172, shed
        assert not _closed_by_server(clients[-1]), "the newest idle client was shed before older"
    finally:
        for client in clients:
            client.close()
        server.stop()


def test_a_stalled_request_body_is_dropped_but_a_long_event_stream_is_not(tmp_path):
    """The deadlines are for requests still arriving: an answer streamed for longer than them
    is never cut, while a body that stops half-way loses its connection."""
    answer = " ".join(f"w{i}" for i in range(12))
    with FakeOpenAI() as llm:
        server = ServerProcess(tmp_path / "srv", extra_env=fake_provider_env(llm))
        server.start()
        try:
            llm.script(Reply.text(answer, delay=1.0))
            sid = request(server.base, "POST", "/api/session/new", {}).json["session"]["session_id"]
            stalled = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            stalled.sendall(
                b"POST /api/session/new HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
            )
            started = time.monotonic()
            run = request(
                server.base, "POST", "/api/chat/start", {"session_id": sid, "message": "hi"}
            )
            events = read_events(server.base, run.json["stream_id"], timeout=40)
            assert time.monotonic() - started > 10.5, "the answer was meant to outlast 10 s"
            assert "done" in [name for name, _ in events]
            assert "".join(d.get("text", "") for n, d in events if n == "token") == answer
            assert _closed_by_server(stalled), "a stalled body kept its connection past 10 s"
            stalled.close()
        finally:
            server.stop()


def test_a_damaged_list_ends_cookies_of_the_same_second_but_not_the_next_login(tmp_path):
    """Cookies carry whole seconds; a cookie from the very second the damage is found still
    ends, and a login right after it still works."""
    from api.auth import Authenticator

    issuer = Authenticator(tmp_path / "secret_key", tmp_path / "password.json")
    cookie = issuer.new_cookie()
    (tmp_path / "revoked_sessions.json").write_bytes(b"not json")
    reader = Authenticator(tmp_path / "secret_key", tmp_path / "password.json")
    assert not reader.valid_cookie(cookie)
    assert reader.valid_cookie(reader.new_cookie())
