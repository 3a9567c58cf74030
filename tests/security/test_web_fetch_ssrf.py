"""web_fetch and its guard against server-side request forgery: no address on the user's
machine or network in any spelling, every redirect hop checked, the connection pinned to the
address that was checked; and a public page read as Markdown."""

from __future__ import annotations

import http.server
from collections.abc import Iterator

import httpx
import pytest

from hermes_agent import net_guard
from hermes_agent.errors import ToolError
from hermes_agent.net_guard import fetch
from tests.support import local_http

ARTICLE = (
    "<html><head><title>Tide tables</title><script>steal()</script></head><body>"
    "<nav>Home | About</nav><article><h1>Tide tables</h1>"
    + "<p>High tide in Lisbon is at 07:40 and 20:05 today.</p>" * 8
    + "</article></body></html>"
)


class _Pages(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        routes = {
            "/article": (200, "text/html; charset=utf-8", ARTICLE),
            "/to-article": (302, "", "/article"),
            "/to-metadata": (302, "", "http://169.254.169.254/latest/meta-data/"),
            "/to-ftp": (302, "", "ftp://example.com/x"),
            "/big": (200, "text/plain", "x" * 3_000_000),
            "/image": (200, "image/png", "\x89PNG"),
        }
        status, kind, body = routes.get(self.path, (404, "text/plain", "no"))
        self.send_response(status)
        if status == 302:
            self.send_header("Location", body)
            body = ""
        else:
            self.send_header("Content-Type", kind)
        data = body.encode("latin-1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args: object) -> None:
        return


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    with local_http(_Pages) as base:
        yield base


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://localhost/",
        "http://2130706433/",  # 127.0.0.1 as one number
        "http://0177.0.0.1/",  # octal
        "http://0x7f.0.0.1/",  # hex
        "http://0/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",  # IPv4-mapped IPv6
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://10.0.0.1/",
        "http://192.168.1.1/",
        "http://172.16.0.1/",
        "http://100.64.0.1/",  # carrier NAT
        "http://[fd00:ec2::254]/",  # the IPv6 metadata address
        "http://224.0.0.1/",
        "http://[2002:7f00:1::1]/",  # 6to4 around 127.0.0.1
        "http://[2002:a9fe:a9fe::1]/",  # 6to4 around the metadata address
        "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of the metadata address
        "http://[64:ff9b::7f00:1]/",  # NAT64 of 127.0.0.1
        "http://[fec0::1]/",  # site-local (deprecated, still routed on some networks)
        "http://[::127.0.0.1]/",  # IPv4-compatible (deprecated)
        "file:///etc/passwd",
        "ftp://example.com/",
        "gopher://127.0.0.1:6379/_INFO",
    ],
)
def test_addresses_on_the_users_machine_or_network_are_refused(url):
    with pytest.raises(ToolError, match="refused"):
        fetch(url)


@pytest.mark.parametrize(
    "address", ["64:ff9b::808:808", "2002:808:808::1", "::ffff:8.8.8.8", "8.8.8.8"]
)
def test_a_public_address_in_any_wrapping_is_allowed(address):
    """An IPv6-only network reaches IPv4 sites through NAT64 (64:ff9b::/96): those addresses
    are judged by the IPv4 address they carry, as 6to4 and mapped ones are."""
    assert net_guard.refused_address(address) is None


def test_an_allowed_host_is_read_and_a_page_becomes_markdown(site, monkeypatch):
    from hermes_agent.runtime import current_settings
    from hermes_agent.tools.web_fetch import web_fetch

    settings = current_settings().model_copy(update={"web_allowed_hosts": ("127.0.0.1",)})
    monkeypatch.setattr("hermes_agent.runtime.current_settings", lambda: settings)
    page = web_fetch({"url": f"{site}/to-article"}, None)
    assert page.startswith("# Tide tables\nURL: " + f"{site}/article\n")
    assert "High tide in Lisbon is at 07:40" in page
    assert "steal()" not in page and "Home | About" not in page


def test_every_redirect_hop_is_checked_again(site):
    with pytest.raises(ToolError, match=r"refused: 169\.254\.169\.254 resolves to a link-local"):
        fetch(f"{site}/to-metadata", allowed_hosts=["127.0.0.1"])
    with pytest.raises(ToolError, match="only http and https"):
        fetch(f"{site}/to-ftp", allowed_hosts=["127.0.0.1"])


def test_the_body_is_bounded(site):
    page = fetch(f"{site}/big", allowed_hosts=["127.0.0.1"], max_bytes=100_000)
    assert page.truncated and len(page.body) == 100_000


def test_the_connection_goes_to_the_address_that_was_checked(monkeypatch):
    """DNS rebinding: a name that resolves to a public address when checked and to a private
    one a moment later must still be fetched from the public one."""
    answers = iter(["93.184.216.34", "127.0.0.1", "127.0.0.1"])
    monkeypatch.setattr(
        net_guard.socket,
        "getaddrinfo",
        lambda *_a, **_k: [(2, 1, 6, "", (next(answers), 80))],
    )
    seen = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.host, request.headers["host"]))
        return httpx.Response(200, headers={"content-type": "text/plain"}, text="public")

    page = fetch("http://rebind.test/x", transport=httpx.MockTransport(answer))
    assert page.body == b"public"
    assert seen == [("93.184.216.34", "rebind.test")]


def test_through_a_real_turn_a_page_is_read_and_a_private_address_is_refused(site, tmp_path, fake):
    """The model (scripted) asks `hermes web` to fetch: an allowed page comes back as
    Markdown, a redirect to the metadata address and `localhost` (not the allowed name) are
    refused, and the refusals reach the model as errors."""
    from tests.fakes.openai_server import Reply
    from tests.support import ServerProcess, fake_provider_env, read_events, request

    env = fake_provider_env(fake, HERMES_WEB_ALLOWED_HOSTS="127.0.0.1")
    server = ServerProcess(tmp_path, extra_env=env).start()
    port = site.rsplit(":", 1)[1]
    try:
        fake.script(
            Reply.tool_calls(
                [
                    ("web_fetch", {"url": f"{site}/article"}),
                    ("web_fetch", {"url": f"{site}/to-metadata"}),
                    ("web_fetch", {"url": f"http://localhost:{port}/article"}),
                ]
            ),
            Reply.text("Read one, two refused."),
        )
        sid = request(server.base, "POST", "/api/session/new", {}).json["session"]["session_id"]
        body = {"session_id": sid, "message": "read these"}
        started = request(server.base, "POST", "/api/chat/start", body)
        assert read_events(server.base, started.json["stream_id"])[-1][0] == "stream_end"
        session = request(server.base, "GET", f"/api/session?session_id={sid}").json["session"]
        results = [m for m in session["messages"] if m["role"] == "tool"]
    finally:
        server.stop()
    assert results[0]["content"].startswith("# Tide tables")
    assert "169.254.169.254" in results[1]["content"] and "refused" in results[1]["content"]
    assert "refused" in results[2]["content"]
    assert "High tide" not in results[1]["content"] + results[2]["content"]
    assert fake.requests[-1]["messages"][-1]["content"] == results[2]["content"]
