"""Folding a turn that did not finish normally into the transcript.

A turn can end early in three ways: the run failed, the user cancelled it, or the server
stopped (found at the next start). In each case the transcript gets, in order: the user's
message, every message the agent completed (it records them in state.db as they finish, so
the tool calls already made are kept and never run again), the text of the answer that was
still streaming (marked `_partial`), and a marker saying why the turn ended. The pending
fields are cleared in the same save, so folding twice is impossible. Without the turn's
result, its recorded messages are the session's state.db rows after its cursor.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from api import agent_runtime
from api.models import UNTITLED, Session, message_text, title_from
from api.turn_messages import attachment_names
from hermes_agent.errors import HermesError
from hermes_agent.turn import ROW_ID

log = logging.getLogger(__name__)

INTERRUPTED_MARKER = (
    "**Interrupted:** the server stopped before this answer finished. "
    "Your message is kept; send it again to continue."
)
STOPPED_MARKER = "Stopped."


def fold_unfinished_turn(
    s: Session,
    marker: str,
    *,
    partial: str | None,
    completed: list[dict[str, Any]] | None = None,
    last_row_id: int | None = None,
    recovered: bool = False,
    stopped: bool = False,
) -> None:
    """Append the unfinished turn to `s.messages` and clear its pending state (no save).

    A stop is the user's choice, not a failure: its marker is `_stopped`, not `_error`, and
    the partial answer it cut short says so.

    `completed` are the turn's messages (the user's first) when the caller has its result,
    with `last_row_id` the newest row it recorded; otherwise the user's message is the pending
    one and what the agent finished is read from state.db, after the session's cursor.
    """
    now = int(time.time())
    if completed is None:
        completed, last_row_id = _turn_from_store(s, recovered=recovered)
    messages = [*s.messages, *completed]
    text = (partial or "").strip()
    if text and not any(
        m.get("role") == "assistant" and message_text(m.get("content")).strip().startswith(text)
        for m in completed
    ):
        cut: dict[str, Any] = {"role": "assistant", "content": partial, "_partial": True}
        if stopped:
            cut["_stopped"] = True
        messages.append({**cut, "timestamp": now})
    flag = "_stopped" if stopped else "_error"
    messages.append({"role": "assistant", "content": marker, flag: True, "timestamp": now})
    if s.title == UNTITLED:
        # A first turn that never finished still names the chat after what was asked.
        s.title = title_from(messages)
    s.messages = messages
    s.context_messages = []
    if last_row_id is not None:
        s.state_cursor = last_row_id
    clear_pending(s)


def _turn_from_store(s: Session, *, recovered: bool) -> tuple[list[dict[str, Any]], int | None]:
    """The pending user message and the messages the agent recorded for it in state.db (the
    rows after the cursor, the user's own first), with the newest row id."""
    started = int(s.pending_started_at or time.time())
    rows = _rows_after_cursor(s)
    turn: list[dict[str, Any]] = []
    if s.pending_user_message:
        user = {"role": "user", "content": s.pending_user_message, "timestamp": started}
        if s.pending_attachments:
            user["attachments"] = attachment_names(s.pending_attachments)
        if recovered:
            user["_recovered"] = True
        if rows and rows[0].get("role") == "user":
            user[ROW_ID] = rows.pop(0)[ROW_ID]
        elif recovered:  # the server stopped before the agent recorded it; no worker is left
            _record_user_message(s, user)
        turn.append(user)
    for row in rows:
        if row.get("role") != "system":
            name = row.pop("tool_name", None)
            turn.append({**row, "timestamp": started, **({"name": name} if name else {})})
    last = max((m[ROW_ID] for m in turn if ROW_ID in m), default=None)
    return turn, last


def _record_user_message(s: Session, user: dict[str, Any]) -> None:
    """Record the user's message of a turn the agent never started, so the conversation
    holds it on every surface, and link the row."""
    db = agent_runtime.state_db()
    if db is None:
        return
    try:
        if db.get_session(s.session_id) is None:
            db.create_session(s.session_id, "web", model=s.model)
        user[ROW_ID] = db.append_message(s.session_id, "user", user["content"])
    except (HermesError, OSError) as exc:
        log.warning("state.db could not record the message of %s: %s", s.session_id, exc)


def _rows_after_cursor(s: Session) -> list[dict[str, Any]]:
    db = agent_runtime.state_db()
    if db is None:
        return []
    try:
        return db.messages_after(s.session_id, s.state_cursor)
    except (HermesError, OSError) as exc:
        log.warning("state.db could not be read for %s: %s", s.session_id, exc)
        return []


def clear_pending(s: Session) -> None:
    """The turn is over: no run, nothing pending."""
    s.active_stream_id = None
    s.pending_user_message = None
    s.pending_attachments = []
    s.pending_started_at = None
    s.pending_partial_text = None
