"""web_search against fake SearXNG, Brave and Tavily services over real HTTP: the query and
key go where each service wants them, and the results come back numbered and bounded."""

from __future__ import annotations

import http.server
import json
from collections.abc import Iterator

import pytest

from hermes_agent.errors import ToolError
from hermes_agent.tools.web_search import web_search
from tests.support import local_http

SEEN: list[dict] = []
RESULTS = [
    {
        "title": f"Tide table {n}",
        "url": f"https://tides.example/{n}",
        "content": f"High tide {n}",
        "description": f"High tide {n}",
    }
    for n in range(12)
]


class _Service(http.server.BaseHTTPRequestHandler):
    def _reply(self, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        SEEN.append({"path": self.path, "headers": dict(self.headers)})
        if self.path.startswith("/search?"):
            self._reply({"results": RESULTS})
        else:
            self._reply({"web": {"results": RESULTS}})

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        SEEN.append(
            {
                "path": self.path,
                "headers": dict(self.headers),
                "body": json.loads(self.rfile.read(length)),
            }
        )
        self._reply({"results": RESULTS[:2]})

    def log_message(self, *_args: object) -> None:
        return


@pytest.fixture(scope="module")
def service() -> Iterator[str]:
    with local_http(_Service) as base:
        yield base


def configured(monkeypatch, **values) -> None:
    from hermes_agent.runtime import current_settings

    settings = current_settings().model_copy(update=values)
    monkeypatch.setattr("hermes_agent.runtime.current_settings", lambda: settings)


def test_searxng_is_asked_for_json_and_results_are_numbered_and_bounded(service, monkeypatch):
    configured(monkeypatch, web_search_backend="searxng", web_search_url=service)
    found = web_search({"query": "lisbon tides"}, None)
    assert SEEN[-1]["path"] == "/search?q=lisbon+tides&format=json"
    assert found.startswith("1. Tide table 0 — https://tides.example/0\n   High tide 0")
    assert found.count("\n") == 15, "eight results, two lines each"


def test_brave_gets_its_key_in_its_header(service, monkeypatch):
    configured(
        monkeypatch,
        web_search_backend="brave",
        web_search_url=f"{service}/brave",
        web_search_key="brave-secret",
    )
    found = web_search({"query": "tides"}, None)
    assert SEEN[-1]["headers"]["X-Subscription-Token"] == "brave-secret"
    assert "2. Tide table 1 — https://tides.example/1" in found


def test_tavily_gets_the_query_as_json_and_its_key_as_a_bearer_token(service, monkeypatch):
    configured(
        monkeypatch,
        web_search_backend="tavily",
        web_search_url=f"{service}/tavily",
        web_search_key="tvly-secret",
    )
    found = web_search({"query": "tides"}, None)
    assert SEEN[-1]["body"] == {"query": "tides", "max_results": 8}
    assert SEEN[-1]["headers"]["Authorization"] == "Bearer tvly-secret"
    assert found.count("\n") == 3


def test_without_a_service_the_model_is_told_search_is_off(monkeypatch):
    configured(monkeypatch, web_search_backend="")
    with pytest.raises(ToolError, match="Web search is off"):
        web_search({"query": "anything"}, None)
    configured(monkeypatch, web_search_backend="brave", web_search_key=None)
    with pytest.raises(ToolError, match="web_search_key must be set for brave"):
        web_search({"query": "anything"}, None)
