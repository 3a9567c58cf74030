"""Password login: a signed HttpOnly cookie, a CSRF header on writes, and throttled guessing."""

from __future__ import annotations

import subprocess
import sys

import pytest

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
    assert status == {"auth_required": True, "authenticated": False}
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
    }
    refused = request(live_server.base, "POST", "/api/auth/login", {"password": "x"})
    assert refused.status == 400


def test_a_password_allows_listening_beyond_loopback(tmp_path):
    process = ServerProcess(tmp_path, extra_env={"HERMES_WEBUI_PASSWORD": PASSWORD})
    env = process.env()
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
        env=env,
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    output = result.stdout + result.stderr
    assert "Refusing to listen" not in output
    assert "Cannot listen on 203.0.113.1" in output, "it got past the safety check to the bind"


def test_the_pages_and_their_assets_load_before_login(server):
    for path in ("/", "/login", "/static/js/app.js", "/static/js/login.js", "/static/css/app.css"):
        assert request(server.base, "GET", path).status == 200, path
    assert request(server.base, "GET", "/api/session?session_id=abc").status == 401
