"""Password login: a signed HttpOnly cookie, a CSRF header on writes, and throttled guessing."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys

import pytest

from api.auth import Authenticator
from tests.support import REPO_ROOT, ServerProcess, free_port, request

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    process = ServerProcess(
        tmp_path_factory.mktemp("auth"), extra_env={"HERMES_WEBUI_PASSWORD": PASSWORD}
    )
    process.start()
    yield process
    process.stop()


def _login(server, password=PASSWORD):
    return request(server.base, "POST", "/api/auth/login", {"password": password})


def _session_cookie(reply) -> str:
    header = reply.headers["set-cookie"]
    return header.split(";", 1)[0]


def test_the_api_requires_a_login_but_health_and_status_do_not(server):
    assert request(server.base, "GET", "/health").status == 200
    status = request(server.base, "GET", "/api/auth/status").json
    assert status == {
        "auth_required": True,
        "authenticated": False,
        "password_source": "environment",
    }
    refused = request(server.base, "GET", "/api/sessions")
    assert refused.status == 401 and refused.json == {"error": "Authentication required"}
    assert request(server.base, "POST", "/api/session/new", {}).status == 401


def test_a_wrong_password_is_refused(server):
    reply = _login(server, "guess")
    assert reply.status == 401 and reply.json["error"] == "Wrong password"
    assert "set-cookie" not in {k.lower() for k in reply.headers}


def test_login_sets_a_strict_httponly_cookie_that_opens_the_api(server):
    reply = _login(server)
    assert reply.status == 200 and reply.json["ok"] is True
    header = reply.headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=strict" in header and "path=/" in header
    cookie = _session_cookie(reply)
    listed = request(server.base, "GET", "/api/sessions", headers={"Cookie": cookie})
    assert listed.status == 200
    status = request(server.base, "GET", "/api/auth/status", headers={"Cookie": cookie}).json
    assert status["authenticated"] is True and status["csrf_token"] == reply.json["csrf_token"]


def test_writes_need_the_csrf_header_as_well_as_the_cookie(server):
    reply = _login(server)
    cookie, token = _session_cookie(reply), reply.json["csrf_token"]
    without = request(server.base, "POST", "/api/session/new", {}, headers={"Cookie": cookie})
    assert without.status == 403 and "CSRF" in without.json["error"]
    assert without.json["code"] == "csrf"
    forged = request(
        server.base,
        "POST",
        "/api/session/new",
        {},
        headers={"Cookie": cookie, "X-Hermes-CSRF": "0" * 64},
    )
    assert forged.status == 403
    allowed = request(
        server.base,
        "POST",
        "/api/session/new",
        {},
        headers={"Cookie": cookie, "X-Hermes-CSRF": token},
    )
    assert allowed.status == 200


def test_a_tampered_or_foreign_cookie_is_refused(server):
    cookie = _session_cookie(_login(server))
    name, value = cookie.split("=", 1)
    expiry, nonce, signature = value.split(".")
    for bad in (
        f"{name}={int(expiry) + 99999}.{nonce}.{signature}",
        f"{name}={expiry}.{nonce}.{'0' * len(signature)}",
        f"{name}=garbage",
    ):
        assert request(server.base, "GET", "/api/sessions", headers={"Cookie": bad}).status == 401


def test_logout_clears_the_cookie(server):
    reply = _login(server)
    cookie, token = _session_cookie(reply), reply.json["csrf_token"]
    out = request(
        server.base,
        "POST",
        "/api/auth/logout",
        {},
        headers={"Cookie": cookie, "X-Hermes-CSRF": token},
    )
    assert out.status == 200
    assert "max-age=0" in out.headers["set-cookie"].lower()


def test_repeated_wrong_passwords_are_throttled(tmp_path):
    process = ServerProcess(tmp_path, extra_env={"HERMES_WEBUI_PASSWORD": PASSWORD})
    process.start()
    try:
        statuses = [_login(process, f"guess {i}").status for i in range(6)]
        assert statuses == [401] * 5 + [429]
        assert _login(process).status == 429, "even the right password waits out the window"
    finally:
        process.stop()


def test_without_a_password_nothing_asks_for_a_login(live_server):
    assert request(live_server.base, "GET", "/api/auth/status").json == {
        "auth_required": False,
        "authenticated": True,
        "password_source": None,
    }
    refused = request(live_server.base, "POST", "/api/auth/login", {"password": "x"})
    assert refused.status == 400


def _listen_beyond_loopback(process: ServerProcess) -> str:
    """What `hermes web --host <a public address>` prints with `process`'s settings and state."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "hermes_cli",
            "web",
            "--host",
            "203.0.113.1",
            "--port",
            str(free_port()),
        ],
        cwd=REPO_ROOT,
        env=process.env(),
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    return result.stdout + result.stderr


def test_a_password_allows_listening_beyond_loopback(tmp_path):
    output = _listen_beyond_loopback(
        ServerProcess(tmp_path, extra_env={"HERMES_WEBUI_PASSWORD": PASSWORD})
    )
    assert "Refusing to listen" not in output
    assert "Cannot listen on 203.0.113.1" in output, "it got past the safety check to the bind"


def test_the_pages_and_their_assets_load_before_login(server):
    scripts = ("/static/js/app.js", "/static/js/login.js")
    styles = ("/static/css/app.css", "/static/css/login.css")
    for path in ("/", "/login", *scripts, *styles):
        assert request(server.base, "GET", path).status == 200, path
    assert request(server.base, "GET", "/api/session?session_id=abc").status == 401


# ── the password set from Settings ───────────────────────────────────────────────────────
NEW_PASSWORD = "a settings password"
OTHER_PASSWORD = "another settings password"


@pytest.fixture(scope="module")
def open_server(tmp_path_factory):
    """A server started without a password, where the tests set one over HTTP."""
    process = ServerProcess(tmp_path_factory.mktemp("open"))
    process.start()
    yield process
    process.stop()


def _set_password(server, new, current=None, cookie=None, token=None):
    body = {"new": new} if current is None else {"new": new, "current": current}
    headers = {"Cookie": cookie, "X-Hermes-CSRF": token} if cookie else {}
    return request(server.base, "POST", "/api/auth/password", body, headers=headers)


@pytest.fixture
def settings_password(open_server):
    """Set NEW_PASSWORD and yield {cookie, token, password}; tests that change the password
    record the new one in `password` (None once removed), so it can be removed afterwards.

    Every wrong password counts towards the throttle (5 a minute from one address), so these
    tests and this clean-up make as few wrong attempts as they can."""
    reply = _set_password(open_server, NEW_PASSWORD)
    assert reply.status == 200, reply.body
    state = {
        "cookie": _session_cookie(reply),
        "token": reply.json["csrf_token"],
        "password": NEW_PASSWORD,
    }
    yield state
    if state["password"] is not None:
        login = _login(open_server, state["password"])
        assert login.status == 200, login.body
        cookie, token = _session_cookie(login), login.json["csrf_token"]
        assert _set_password(open_server, None, state["password"], cookie, token).status == 200
    assert request(open_server.base, "GET", "/api/auth/status").json["auth_required"] is False


def _authed(server, state, method, path, body=None):
    headers = {"Cookie": state["cookie"], "X-Hermes-CSRF": state["token"]}
    return request(server.base, method, path, body, headers=headers)


def test_a_password_set_over_http_locks_the_server_and_keeps_the_caller_logged_in(
    open_server, settings_password
):
    status = request(open_server.base, "GET", "/api/auth/status").json
    assert status == {"auth_required": True, "authenticated": False, "password_source": "settings"}
    assert request(open_server.base, "GET", "/api/sessions").status == 401
    assert _authed(open_server, settings_password, "GET", "/api/sessions").status == 200
    created = _authed(open_server, settings_password, "POST", "/api/session/new", {})
    assert created.status == 200
    assert _login(open_server, NEW_PASSWORD).status == 200


def test_only_a_salted_hash_is_stored_and_no_reply_holds_the_password(
    open_server, settings_password
):
    stored = open_server.state_dir / "password.json"
    assert stored.stat().st_mode & 0o777 == 0o600
    record = json.loads(stored.read_bytes())
    assert record["algorithm"] == "scrypt" and len(bytes.fromhex(record["salt"])) >= 16
    assert NEW_PASSWORD.encode() not in stored.read_bytes()
    assert NEW_PASSWORD.encode().hex() not in stored.read_text()
    for path in ("/api/auth/status", "/api/settings"):
        reply = _authed(open_server, settings_password, "GET", path)
        assert reply.status == 200 and NEW_PASSWORD not in reply.body.decode()
    assert not list(open_server.state_dir.glob("*.tmp.*")), "no temp file left behind"


def test_the_same_password_set_twice_gets_a_new_salt(open_server, settings_password):
    first = json.loads((open_server.state_dir / "password.json").read_bytes())
    again = _authed(
        open_server,
        settings_password,
        "POST",
        "/api/auth/password",
        {"current": NEW_PASSWORD, "new": NEW_PASSWORD},
    )
    assert again.status == 200
    second = json.loads((open_server.state_dir / "password.json").read_bytes())
    assert first["salt"] != second["salt"] and first["key"] != second["key"]


def test_changing_the_password_voids_every_earlier_cookie(open_server, settings_password):
    other_login = _login(open_server, NEW_PASSWORD)
    other = {"cookie": _session_cookie(other_login), "token": other_login.json["csrf_token"]}
    changed = _authed(
        open_server,
        settings_password,
        "POST",
        "/api/auth/password",
        {"current": NEW_PASSWORD, "new": OTHER_PASSWORD},
    )
    assert changed.status == 200 and changed.json["password_source"] == "settings"
    settings_password["password"] = OTHER_PASSWORD
    fresh = {"cookie": _session_cookie(changed), "token": changed.json["csrf_token"]}
    assert _authed(open_server, fresh, "GET", "/api/sessions").status == 200
    assert _authed(open_server, fresh, "POST", "/api/session/new", {}).status == 200
    for stale in (settings_password, other):
        assert _authed(open_server, stale, "GET", "/api/sessions").status == 401
    assert _login(open_server, NEW_PASSWORD).status == 401
    assert _login(open_server, OTHER_PASSWORD).status == 200


def test_removing_the_password_opens_the_server_and_clears_the_cookie(
    open_server, settings_password
):
    removed = _authed(
        open_server,
        settings_password,
        "POST",
        "/api/auth/password",
        {"current": NEW_PASSWORD, "new": None},
    )
    assert removed.status == 200
    settings_password["password"] = None
    assert removed.json == {"ok": True, "auth_required": False, "password_source": None}
    assert "max-age=0" in removed.headers["set-cookie"].lower()
    assert not (open_server.state_dir / "password.json").exists()
    assert request(open_server.base, "GET", "/api/sessions").status == 200
    assert _login(open_server, NEW_PASSWORD).status == 400, "nothing to log in to"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({}, 400, "Missing required field(s): new"),
        ({"current": NEW_PASSWORD}, 400, "Missing required field(s): new"),
        ({"current": NEW_PASSWORD, "new": "short"}, 400, "at least 8 characters"),
        ({"current": NEW_PASSWORD, "new": 12345678}, 400, "new"),
        ({"current": NEW_PASSWORD, "new": "x" * 1001}, 400, "new"),
        ({"new": OTHER_PASSWORD}, 400, "current password is required"),
        ({"current": "", "new": OTHER_PASSWORD}, 400, "current password is required"),
        ({"current": "not the password", "new": OTHER_PASSWORD}, 403, "Wrong current password"),
        ({"current": "not the password", "new": None}, 403, "Wrong current password"),
    ],
)
def test_bad_password_changes_are_refused_and_change_nothing(
    open_server, settings_password, body, status, message
):
    before = (open_server.state_dir / "password.json").read_bytes()
    reply = _authed(open_server, settings_password, "POST", "/api/auth/password", body)
    assert reply.status == status and message in reply.json["error"], reply.body
    assert "set-cookie" not in {k.lower() for k in reply.headers}
    assert (open_server.state_dir / "password.json").read_bytes() == before
    assert _authed(open_server, settings_password, "GET", "/api/sessions").status == 200


def test_bad_input_on_an_open_server_sets_no_password(open_server):
    for body, status, message in (
        ({"new": "short"}, 400, "at least 8 characters"),
        ({"new": None}, 409, "No password is set"),
        ({"current": "anything"}, 400, "Missing required field(s): new"),
    ):
        reply = request(open_server.base, "POST", "/api/auth/password", body)
        assert reply.status == status and message in reply.json["error"], reply.body
    status, body = _declare_a_huge_body(open_server, "/api/auth/password")
    assert status == 413 and "too large" in json.loads(body)["error"]
    assert not (open_server.state_dir / "password.json").exists()
    assert request(open_server.base, "GET", "/api/auth/status").json["auth_required"] is False


def _declare_a_huge_body(server, path: str) -> tuple[int, bytes]:
    """POST with a Content-Length over the limit; the guard answers before any body is sent."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.putrequest("POST", path)
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(20 * 1024 * 1024 + 1))
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_guessing_the_current_password_is_throttled(tmp_path):
    process = ServerProcess(tmp_path)
    process.start()
    try:
        state = _set_password(process, NEW_PASSWORD)
        cookie, token = _session_cookie(state), state.json["csrf_token"]
        statuses = [
            _set_password(process, OTHER_PASSWORD, f"guess {i}", cookie, token).status
            for i in range(6)
        ]
        assert statuses == [403] * 5 + [429]
        assert _set_password(process, OTHER_PASSWORD, NEW_PASSWORD, cookie, token).status == 429
        assert _login(process, NEW_PASSWORD).status == 429, "login shares the count"
    finally:
        process.stop()


def test_a_settings_password_survives_a_restart_and_allows_listening_beyond_loopback(tmp_path):
    process = ServerProcess(tmp_path)
    assert "Refusing to listen on 203.0.113.1" in _listen_beyond_loopback(process)
    process.start()
    try:
        assert _set_password(process, NEW_PASSWORD).status == 200
    finally:
        process.stop()
    output = _listen_beyond_loopback(process)
    assert "Refusing to listen" not in output
    assert "Cannot listen on 203.0.113.1" in output, "it got past the safety check to the bind"
    process.start()
    try:
        assert request(process.base, "GET", "/api/sessions").status == 401
        assert _login(process, NEW_PASSWORD).status == 200
    finally:
        process.stop()


def test_the_environment_password_cannot_be_changed_over_http(server):
    reply = _login(server)
    state = {"cookie": _session_cookie(reply), "token": reply.json["csrf_token"]}
    for body in ({"current": PASSWORD, "new": NEW_PASSWORD}, {"current": PASSWORD, "new": None}):
        refused = _authed(server, state, "POST", "/api/auth/password", body)
        assert refused.status == 409 and "HERMES_WEBUI_PASSWORD" in refused.json["error"]
    assert not (server.state_dir / "password.json").exists()
    assert _login(server).status == 200


def test_the_environment_password_wins_over_a_stored_one(tmp_path):
    process = ServerProcess(tmp_path)
    process.start()
    try:
        assert _set_password(process, NEW_PASSWORD).status == 200
    finally:
        process.stop()
    process.extra_env = {"HERMES_WEBUI_PASSWORD": PASSWORD}
    process.start()
    try:
        status = request(process.base, "GET", "/api/auth/status").json
        assert status["password_source"] == "environment"
        assert _login(process, NEW_PASSWORD).status == 401
        assert _login(process, PASSWORD).status == 200
    finally:
        process.stop()


def test_a_new_environment_password_voids_the_cookies_of_the_old_one(tmp_path, monkeypatch):
    guard = Authenticator(tmp_path / "secret_key", tmp_path / "password.json")
    monkeypatch.setenv("HERMES_WEBUI_PASSWORD", PASSWORD)
    cookie = guard.new_cookie()
    assert guard.valid_cookie(cookie)
    monkeypatch.setenv("HERMES_WEBUI_PASSWORD", NEW_PASSWORD)
    assert not guard.valid_cookie(cookie)


def test_a_damaged_password_file_locks_rather_than_opens(tmp_path, monkeypatch):
    monkeypatch.delenv("HERMES_WEBUI_PASSWORD", raising=False)
    (tmp_path / "password.json").write_text("{not json")
    guard = Authenticator(tmp_path / "secret_key", tmp_path / "password.json")
    assert guard.source() == "settings"
    assert not guard.check_password("", "client") and not guard.check_password("{not json", "c")
