"""`session_search(query, limit?)`: recall of past conversations, from every surface.

Runs state.db's full-text search and groups the matches per conversation, best first, with
its title, where it happened, its date and up to three matching passages, all bounded in
size so a broad query cannot flood the context. The conversation asking is left out.
"""

from __future__ import annotations

import time
from typing import Any

from hermes_agent.errors import StoreError, ToolError
from hermes_agent.tools.registry import Tool, ToolContext

MAX_CONVERSATIONS = 10
PASSAGES = 3
PASSAGE_CHARS = 300
SCAN = 100  # matching messages read to find the best conversations


def session_search(args: dict[str, Any], ctx: ToolContext) -> str:
    from hermes_agent.runtime import state_db

    query, limit = args.get("query"), args.get("limit", 5)
    if not isinstance(query, str) or not query.strip():
        raise ToolError("query must be the words to look for")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ToolError("limit must be a positive integer")
    db = state_db()
    if db is None:
        raise ToolError("past conversations cannot be searched: the store is unavailable")
    try:
        rows = db.search_messages(query, limit=SCAN)
    except StoreError as exc:
        raise ToolError(f"the search failed: {exc}") from None
    found = _grouped(rows, ctx.session_id, min(limit, MAX_CONVERSATIONS))
    if not found:
        return f"No past conversation mentions {query!r}."
    return "\n\n".join(_described(db, sid, hits, n) for n, (sid, hits) in enumerate(found, 1))


def _grouped(rows: list[dict], current: str, limit: int) -> list[tuple[str, list[dict]]]:
    groups: dict[str, list[dict]] = {}
    for row in rows:
        sid = row["session_id"]
        if sid == current or (sid not in groups and len(groups) >= limit):
            continue
        groups.setdefault(sid, [])
        if len(groups[sid]) < PASSAGES:
            groups[sid].append(row)
    return list(groups.items())


def _described(db: Any, sid: str, hits: list[dict], n: int) -> str:
    title = db.get_session_title(sid) or "(untitled)"
    first = hits[0]
    when = time.strftime("%Y-%m-%d", time.localtime(first.get("session_started") or 0))
    lines = [f"{n}. “{title}” ({first.get('source')}, {when}, id {sid})"]
    for hit in hits:
        passage = " ".join(str(hit.get("snippet") or "").split())[:PASSAGE_CHARS]
        lines.append(f"   - {hit.get('role')}: {passage}")
    return "\n".join(lines)


SESSION_SEARCH = Tool(
    "session_search",
    "Search past conversations (web, terminal, chat apps) for words or a phrase, to recall "
    "what was discussed or decided. Returns the best matching conversations with title, date "
    "and passages (the match between >>> and <<<).",
    {
        "type": "object",
        "properties": {
            "query": {"type": "string"},
            "limit": {"type": "integer", "minimum": 1, "maximum": MAX_CONVERSATIONS},
        },
        "required": ["query"],
    },
    session_search,
)
