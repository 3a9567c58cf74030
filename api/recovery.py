"""Startup recovery: turns that were running when the server stopped.

A session whose `active_stream_id` no live run owns was interrupted by a crash or a restart.
Its pending turn is folded into the transcript once: the user's message (unless already
there), whatever the agent finished and recorded in state.db, the checkpointed partial text
(marked partial), and an "interrupted" marker. Tools are never run again. The repair clears
the pending fields in the same atomic save, so running it twice changes nothing.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from api import agent_runtime, models
from api.config import LOCK, SESSIONS, STREAMS, STREAMS_LOCK, _get_session_agent_lock
from api.models import Session, get_session
from hermes_agent.errors import HermesError

log = logging.getLogger(__name__)

INTERRUPTED_MARKER = (
    "**Interrupted:** the server stopped before this answer finished. "
    "Your message is kept; send it again to continue."
)


def recover_interrupted_runs() -> int:
    """Repair every interrupted turn; return how many sessions were repaired."""
    repaired = 0
    for row in models.index_rows():
        stream_id = row.get("active_stream_id")
        if not stream_id:
            continue
        with STREAMS_LOCK:
            live = stream_id in STREAMS
        if not live and repair_session(row["session_id"]):
            repaired += 1
    if repaired:
        log.warning("recovered %d turn(s) interrupted by a stop", repaired)
    return repaired


def repair_session(session_id: str) -> bool:
    try:
        with _get_session_agent_lock(session_id):
            s = get_session(session_id)
            with LOCK:
                s = SESSIONS.get(session_id, s)
            with STREAMS_LOCK:
                if not s.active_stream_id or s.active_stream_id in STREAMS:
                    return False
            _fold_pending_turn(s)
            s.save()
            return True
    except (HermesError, OSError) as exc:
        log.error("could not recover the interrupted turn of %s: %s", session_id, exc)
        return False


def _fold_pending_turn(s: Session) -> None:
    now = int(time.time())
    started = s.pending_started_at or now
    messages = list(s.messages)
    if s.pending_user_message:
        messages.append(
            {
                "role": "user",
                "content": s.pending_user_message,
                "timestamp": int(started),
                "_recovered": True,
            }
        )
    recorded = _recorded_after_user(s.session_id, started)
    messages.extend(recorded)
    partial = (s.pending_partial_text or "").strip()
    already = any(
        m.get("role") == "assistant" and str(m.get("content") or "").strip().startswith(partial)
        for m in recorded
    )
    if partial and not already:
        messages.append(
            {
                "role": "assistant",
                "content": s.pending_partial_text,
                "_partial": True,
                "timestamp": now,
            }
        )
    messages.append(
        {"role": "assistant", "content": INTERRUPTED_MARKER, "_error": True, "timestamp": now}
    )
    s.messages = messages
    s.context_messages = []
    s.active_stream_id = None
    s.pending_user_message = None
    s.pending_attachments = []
    s.pending_started_at = None
    s.pending_partial_text = None


def _recorded_after_user(session_id: str, started: float) -> list[dict[str, Any]]:
    """Assistant and tool messages the agent completed (and recorded) before the stop."""
    db = agent_runtime.state_db()
    if db is None:
        return []
    try:
        rows = db.get_messages(session_id)
    except (HermesError, OSError) as exc:
        log.warning("state.db could not be read for %s: %s", session_id, exc)
        return []
    recovered = []
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
        recovered.append(message)
    return recovered
