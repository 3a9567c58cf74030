"""Conversations started on the other surfaces (the terminal, chat apps, `hermes chat`) and
by scheduled jobs (source `cron`).

They live in state.db only. The sidebar lists them beside the browser's own sessions, search
finds their messages, and opening one shows its transcript; `continue_in_web` copies one into a
web session under the same id, so the browser can go on with it and its turns keep being
recorded in the same state.db session. Reading state.db never breaks the web UI: when it cannot
be read, these functions return nothing.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from api import agent_runtime, models
from api.config import CACHE
from api.models import Session
from api.validation import is_valid_session_id
from hermes_agent.errors import HermesError, NotFound, SessionNotFound
from hermes_agent.turn import ROW_ID

if TYPE_CHECKING:
    from hermes_state import ConversationStore

log = logging.getLogger(__name__)

HIDDEN_SOURCES = ("web",)
SCHEDULED = "cron"
SCHEDULED_LIMIT = 200
LIST_LIMIT = 2000
SEARCH_LIMIT = 50

_cached: dict[str, tuple[Any, list[dict[str, Any]]]] = {}
_cache_lock = threading.Lock()
_MARKERS = re.compile(r">>>|<<<")


def _row(record: dict[str, Any]) -> dict[str, Any]:
    """A state.db session as a sidebar row, shaped like a web session's compact row."""
    last = record.get("last_active") or record.get("started_at")
    return {
        "session_id": record["id"],
        "title": record.get("title") or record.get("preview") or models.UNTITLED,
        "model": record.get("model"),
        "message_count": record.get("message_count") or 0,
        "created_at": record.get("started_at"),
        "updated_at": last,
        "last_message_at": last,
        "pinned": False,
        "archived": False,
        "project_id": None,
        "input_tokens": record.get("input_tokens") or 0,
        "output_tokens": record.get("output_tokens") or 0,
        "estimated_cost": record.get("estimated_cost_usd"),
        "source": record.get("source"),
        "is_cli_session": True,
    }


def listed(exclude_ids: set[str]) -> list[dict[str, Any]]:
    """The other surfaces' conversations, newest activity first, minus those the web has."""
    db = agent_runtime.state_db()
    if db is None:
        return []
    try:
        rows = _rows_of_other_surfaces(db) + _scheduled_rows(db)
    except (HermesError, OSError) as exc:
        log.warning("state.db could not be listed: %s", exc)
        return []
    rows.sort(key=_activity, reverse=True)
    return [row for row in rows if row["session_id"] not in exclude_ids]


def _scheduled_rows(db: ConversationStore) -> list[dict[str, Any]]:
    """Scheduled runs (listed under "Scheduled"), written by this process's own scheduler
    too: read again after anything was committed to state.db."""
    return _cached_rows(
        "scheduled",
        db.change_mark(),
        lambda: db.list_sessions_rich(SCHEDULED, limit=SCHEDULED_LIMIT, order_by_last_active=True),
    )


def _rows_of_other_surfaces(db: ConversationStore) -> list[dict[str, Any]]:
    """Read again only after another process wrote to state.db (this server's own writes go
    to web sessions and scheduled runs, which are listed apart)."""
    return _cached_rows(
        "others",
        db.data_version(),
        lambda: db.list_sessions_rich(
            exclude_sources=(*HIDDEN_SOURCES, SCHEDULED),
            limit=LIST_LIMIT,
            order_by_last_active=True,
        ),
    )


def _cached_rows(
    name: str, mark: Any, read: Callable[[], list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """Every sidebar page asks for these rows: kept until `mark` says the store changed."""
    with _cache_lock:
        kept = _cached.get(name)
        if kept is not None and kept[0] == mark:
            return kept[1]
    rows = [_row(r) for r in read() if r.get("message_count")]
    with _cache_lock:
        _cached[name] = (mark, rows)
    return rows


def merged(web_rows: list[dict[str, Any]], others: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One list: pinned web sessions on top, then everything by newest activity."""
    pinned = [row for row in web_rows if row.get("pinned")]
    rest = [row for row in web_rows if not row.get("pinned")] + others
    rest.sort(key=_activity, reverse=True)
    return pinned + rest


def _activity(row: dict[str, Any]) -> float:
    return row.get("last_message_at") or row.get("updated_at") or 0


def search(query: str, exclude_ids: set[str], limit: int = SEARCH_LIMIT) -> list[dict[str, Any]]:
    """Title matches first, then message matches with a snippet, one row per conversation."""
    db = agent_runtime.state_db()
    if db is None or not query:
        return []
    rows = {r["session_id"]: r for r in listed(exclude_ids)}
    found = [
        {**row, "match_type": "title"}
        for row in rows.values()
        if query in (row["title"] or "").lower()
    ]
    seen = {row["session_id"] for row in found}
    try:
        hits = db.search_messages(query, exclude_sources=HIDDEN_SOURCES, limit=limit * 2)
    except (HermesError, OSError) as exc:
        log.warning("state.db could not be searched: %s", exc)
        hits = []
    for hit in hits:
        sid = db.get_compression_tip(hit["session_id"]) or hit["session_id"]
        root = _listed_id(rows, sid, hit["session_id"])
        if root is None or root in seen:
            continue
        seen.add(root)
        snippet = _MARKERS.sub("", hit.get("snippet") or "")
        found.append({**rows[root], "match_type": "content", "snippet": snippet})
    return found[:limit]


def _listed_id(rows: dict[str, dict], *candidates: str) -> str | None:
    return next((c for c in candidates if c in rows), None)


def session_detail(sid: str) -> dict[str, Any] | None:
    """A conversation of another surface with its whole transcript, or None if there is none."""
    db = agent_runtime.state_db()
    if db is None or not is_valid_session_id(sid):
        return None
    record = db.get_session(sid)
    if record is None or record.get("source") in HIDDEN_SOURCES:
        return None
    tip = db.get_compression_tip(sid) or sid
    messages = db.get_messages_as_conversation(tip, include_ancestors=True, with_row_ids=True)
    row = _row({**record, "last_active": record.get("started_at")})
    return {**row, "messages": messages, "continue_id": tip}


def _last_row(session_id: str) -> int | None:
    db = agent_runtime.state_db()
    return db.last_message_id(session_id) if db is not None else None


def continue_in_web(sid: str) -> tuple[Session, bool]:
    """The web session for another surface's conversation, made from state.db if need be;
    the flag says whether it was made now.

    The web session takes the id of the conversation's newest continuation, so the browser's
    turns are appended to the same state.db session the other surface wrote.
    """
    detail = session_detail(sid)
    if detail is None:
        raise NotFound("Session not found in the conversation store")
    web_id = detail["continue_id"]
    try:
        return models.get_session(web_id), False
    except SessionNotFound:
        pass
    session = Session(
        session_id=web_id,
        title=detail["title"],
        model=detail.get("model"),
        messages=[m for m in detail["messages"] if m.get("role") != "system"],
        state_cursor=_last_row(web_id),
    )
    session.save()
    CACHE.keep(session)
    return session, True


def later_messages(s: Session) -> list[dict[str, Any]]:
    """What was said in a browser conversation on another surface since the browser's copy
    was last brought up to date: its state.db rows after `state_cursor`, each with its row
    id. Nothing while a run is live (its own rows are not said elsewhere) or before any turn
    of it was recorded. Reads only."""
    db = agent_runtime.state_db()
    if db is None or s.active_stream_id:
        return []
    try:
        cursor = _cursor(db, s)
        if cursor is None:
            return []
        later = db.messages_after(s.session_id, cursor)
    except (HermesError, OSError) as exc:
        log.warning("state.db could not be read for %s: %s", s.session_id, exc)
        return []
    return [m for m in later if m.get("role") != "system"]


def catch_up(s: Session) -> bool:
    """Append `later_messages` to the transcript and the model's context, and move the
    cursor past them; True when the session changed. For write paths, with the session's
    lock held: a read shows the same view without writing (`later_messages`)."""
    later = later_messages(s)
    resolved = s.state_cursor is None and s.state_message_count is not None
    if resolved:
        s.state_cursor = _cursor(agent_runtime.state_db(), s)
        s.state_message_count = None
    if not later:
        return resolved
    s.messages = s.messages + later
    if s.context_messages:
        s.context_messages = s.context_messages + later
    s.state_cursor = later[-1][ROW_ID]
    return True


def _cursor(db: ConversationStore | None, s: Session) -> int | None:
    """The session's cursor; for a file from before cursors, the row its count reached."""
    if s.state_cursor is not None or s.state_message_count is None or db is None:
        return s.state_cursor
    rows = db.get_messages(s.session_id)[: s.state_message_count]
    return rows[-1]["id"] if rows else 0
