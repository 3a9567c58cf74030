"""`web_fetch(url)`: a web page as readable Markdown, with its title and final URL.

The fetch goes through `net_guard` (no address on the user's machine or network, every hop
checked and pinned) within a size and time limit; the page's main text is extracted by
trafilatura (boilerplate, navigation and scripts left out), never by hand.
"""

from __future__ import annotations

from typing import Any

from hermes_agent.errors import ToolError
from hermes_agent.net_guard import Fetched, fetch
from hermes_agent.tools.registry import Tool, ToolContext

MAX_CHARS = 40_000
TEXT_TYPES = ("text/plain", "text/markdown", "application/json", "text/csv")


def web_fetch(args: dict[str, Any], _ctx: ToolContext) -> str:
    from hermes_agent.runtime import current_settings

    url = args.get("url")
    if not isinstance(url, str) or not url.strip():
        raise ToolError("url must be an http or https address")
    page = fetch(url.strip(), allowed_hosts=current_settings().web_allowed_hosts)
    if page.status >= 400:
        raise ToolError(f"{page.url} answered {page.status}")
    title, text = _readable(page)
    cut = len(text) > MAX_CHARS or page.truncated
    note = "\n\n[The page was cut to fit.]" if cut else ""
    heading = f"# {title}\n" if title else ""
    return f"{heading}URL: {page.url}\n\n{text[:MAX_CHARS]}{note}"


def _readable(page: Fetched) -> tuple[str, str]:
    kind = page.content_type.split(";", 1)[0].strip().lower()
    html = page.body.decode("utf-8", errors="replace")
    if kind in TEXT_TYPES:
        return "", html
    if kind not in ("text/html", "application/xhtml+xml", ""):
        raise ToolError(f"{page.url} is {kind}, not a web page")
    import trafilatura

    text = trafilatura.extract(html, output_format="markdown", include_links=True) or ""
    meta = trafilatura.extract_metadata(html)
    return (meta.title if meta and meta.title else ""), text.strip()


WEB_FETCH = Tool(
    "web_fetch",
    "Fetch a public web page and read its main text as Markdown (with its title and final "
    "URL). Addresses on the user's own machine or network are refused.",
    {
        "type": "object",
        "properties": {"url": {"type": "string", "description": "An http or https URL."}},
        "required": ["url"],
    },
    web_fetch,
)
