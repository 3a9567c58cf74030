"""`web_search(query)`: results from the search service the user configured.

Backends: SearXNG (its JSON API, often self-hosted), Brave Search and Tavily. Off until one
is set (`web_search_backend`), and then the model is told so plainly. The service is the
user's own choice of address, so it is asked directly (a SearXNG on the home network is
normal); what the model then fetches of the results goes through `web_fetch` and its guard.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from hermes_agent.errors import ToolError
from hermes_agent.tools.registry import Tool, ToolContext

MAX_RESULTS = 8
SNIPPET_CHARS = 300
TIMEOUT = 15.0
DEFAULT_URLS = {
    "brave": "https://api.search.brave.com/res/v1/web/search",
    "tavily": "https://api.tavily.com/search",
}
OFF = (
    "Web search is off: the user has not chosen a search service. Say so, and that it is set "
    "with web_search_backend (searxng, brave or tavily) in the settings."
)


def web_search(args: dict[str, Any], _ctx: ToolContext) -> str:
    from hermes_agent.runtime import current_settings

    query = args.get("query")
    if not isinstance(query, str) or not query.strip():
        raise ToolError("query must be the words to search for")
    settings = current_settings()
    backend = settings.web_search_backend
    if not backend:
        raise ToolError(OFF)
    url = settings.web_search_url or DEFAULT_URLS.get(backend)
    if not url:
        raise ToolError(f"web_search_url must be set for {backend}")
    if backend != "searxng" and not settings.web_search_key:
        raise ToolError(f"web_search_key must be set for {backend}")
    try:
        results = BACKENDS[backend](url, query.strip(), settings.web_search_key or "")
    except httpx.HTTPStatusError as exc:
        raise ToolError(f"the {backend} search answered {exc.response.status_code}") from None
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        raise ToolError(f"the {backend} search failed: {exc}") from None
    if not results:
        return f"No results for {query!r}."
    return "\n".join(_line(n, r) for n, r in enumerate(results[:MAX_RESULTS], 1))


def _line(n: int, result: dict[str, str]) -> str:
    snippet = " ".join(str(result.get("snippet") or "").split())[:SNIPPET_CHARS]
    return f"{n}. {result.get('title') or '(untitled)'} — {result.get('url')}\n   {snippet}"


def _searxng(url: str, query: str, _key: str) -> list[dict[str, str]]:
    reply = httpx.get(
        url.rstrip("/") + "/search", params={"q": query, "format": "json"}, timeout=TIMEOUT
    )
    reply.raise_for_status()
    return [
        {"title": r.get("title"), "url": r.get("url"), "snippet": r.get("content")}
        for r in reply.json().get("results", [])
    ]


def _brave(url: str, query: str, key: str) -> list[dict[str, str]]:
    reply = httpx.get(
        url,
        params={"q": query, "count": MAX_RESULTS},
        timeout=TIMEOUT,
        headers={"X-Subscription-Token": key, "Accept": "application/json"},
    )
    reply.raise_for_status()
    return [
        {"title": r.get("title"), "url": r.get("url"), "snippet": r.get("description")}
        for r in reply.json().get("web", {}).get("results", [])
    ]


def _tavily(url: str, query: str, key: str) -> list[dict[str, str]]:
    reply = httpx.post(
        url,
        json={"query": query, "max_results": MAX_RESULTS},
        timeout=TIMEOUT,
        headers={"Authorization": f"Bearer {key}"},
    )
    reply.raise_for_status()
    return [
        {"title": r.get("title"), "url": r.get("url"), "snippet": r.get("content")}
        for r in reply.json().get("results", [])
    ]


BACKENDS: dict[str, Callable[[str, str, str], list[dict[str, str]]]] = {
    "searxng": _searxng,
    "brave": _brave,
    "tavily": _tavily,
}
WEB_SEARCH = Tool(
    "web_search",
    "Search the web; returns titles, URLs and snippets. Read a result with web_fetch.",
    {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    web_search,
)
