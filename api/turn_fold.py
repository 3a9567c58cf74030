"""Folding a turn that did not finish normally into the transcript.

A turn can end early in three ways: the run failed, the user cancelled it, or the server
stopped (found at the next start). In each case the transcript gets, in order: the user's
message, every message the agent completed (it records them in state.db as they finish, so
the tool calls already made are kept and never run again), the text of the answer that was
still streaming (marked `_partial`), and a marker saying why the turn ended. The pending
fields are cleared in the same save, so folding twice is impossible.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from api import agent_runtime
from api.models import UNTITLED, Session, message_text, title_from
from hermes_agent.errors import HermesError

log = logging.getLogger(__name__)

INTERRUPTED_MARKER = (
    "**Interrupted:** the server stopped before this answer finished. "
    "Your message is kept; send it again to continue."
)
CANCELLED_MARKER = "*Task cancelled.*"


def fold_unfinished_turn(
    s: Session,
    marker: str,
    *,
    partial: str | None,
    completed: list[dict[str, Any]] | None = None,
    recovered: bool = False,
) -> None:
    """Append the unfinished turn to `s.messages` and clear its pending state (no save).

    `completed` are the agent's finished messages of this turn when the caller has them;
    otherwise they are read from state.db.
    """
    now = int(time.time())
    started = s.pending_started_at or now
    messages = list(s.messages)
    if s.pending_user_message:
        user = {"role": "user", "content": s.pending_user_message, "timestamp": int(started)}
        if s.pending_attachments:
            user["attachments"] = [
                a.get("name") if isinstance(a, dict) else a for a in s.pending_attachments
            ]
        if recovered:
            user["_recovered"] = True
        messages.append(user)
    finished = completed if completed is not None else recorded_since(s.session_id, started)
    finished = [m for m in finished if m.get("role") != "user"]
    messages.extend(finished)
    text = (partial or "").strip()
    if text and not any(
        m.get("role") == "assistant" and message_text(m.get("content")).strip().startswith(text)
        for m in finished
    ):
        messages.append(
            {"role": "assistant", "content": partial, "_partial": True, "timestamp": now}
        )
    messages.append({"role": "assistant", "content": marker, "_error": True, "timestamp": now})
    if s.title == UNTITLED:
        # A first turn that never finished still names the chat after what was asked.
        s.title = title_from(messages)
    s.messages = messages
    s.context_messages = []
    clear_pending(s)


def clear_pending(s: Session) -> None:
    """The turn is over: no run, nothing pending, and everything it recorded is seen."""
    s.active_stream_id = None
    s.pending_user_message = None
    s.pending_attachments = []
    s.pending_started_at = None
    s.pending_partial_text = None
    s.state_message_count = recorded_count(s.session_id)


def recorded_count(session_id: str) -> int | None:
    """How many messages state.db holds for the session; None when it cannot be read."""
    db = agent_runtime.state_db()
    if db is None:
        return None
    try:
        return db.message_count(session_id)
    except (HermesError, OSError) as exc:
        log.warning("state.db could not count %s: %s", session_id, exc)
        return None


def recorded_since(session_id: str, started: float) -> list[dict[str, Any]]:
    """The agent's messages recorded in state.db since the turn started (users excluded)."""
    db = agent_runtime.state_db()
    if db is None:
        return []
    try:
        rows = db.get_messages(session_id)
    except (HermesError, OSError) as exc:
        log.warning("state.db could not be read for %s: %s", session_id, exc)
        return []
    recorded = []
    for row in rows:
        if row.get("timestamp", 0) < started - 1 or row.get("role") == "user":
            continue
        message: dict[str, Any] = {
            "role": row["role"],
            "content": row.get("content"),
            "timestamp": int(row.get("timestamp") or started),
        }
        if row.get("tool_calls"):
            message["tool_calls"] = row["tool_calls"]
        if row.get("tool_call_id"):
            message["tool_call_id"] = row["tool_call_id"]
        if row.get("tool_name"):
            message["name"] = row["tool_name"]
        recorded.append(message)
    return recorded
