"""Startup recovery: turns that were running when the server stopped.

A session whose `active_stream_id` no live run owns was interrupted by a crash or a restart.
Its pending turn is folded into the transcript once (see `api.turn_fold`): the user's
message, what the agent finished, the checkpointed partial text, and an "interrupted"
marker. Tools are never run again, and a second pass finds nothing to do.
"""

from __future__ import annotations

import logging

from api import models, session_ops
from api.config import CACHE, STREAMS, STREAMS_LOCK
from api.turn_fold import INTERRUPTED_MARKER, fold_unfinished_turn
from hermes_agent.errors import HermesError

log = logging.getLogger(__name__)


def recover_interrupted_runs() -> int:
    """Repair every interrupted turn and finish every edit's state.db deletions; return how
    many sessions were repaired."""
    repaired = 0
    for row in models.index_rows():
        if row.get("forget_pending"):
            _finish_forgetting(row["session_id"])
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


def _finish_forgetting(session_id: str) -> None:
    """Delete the state.db rows an edit took out before the server was killed, if it was
    killed between its save and the deletion."""
    try:
        with CACHE.session_for_edit(session_id) as s:
            session_ops.forget_rows(s)
            if not s.state_rows_to_forget:
                s.save(touch_updated_at=False)
    except (HermesError, OSError) as exc:
        log.error("could not finish removing the undone messages of %s: %s", session_id, exc)


def repair_session(session_id: str) -> bool:
    try:
        with CACHE.session_for_edit(session_id) as s:
            with STREAMS_LOCK:
                if not s.active_stream_id or s.active_stream_id in STREAMS:
                    return False
            fold_unfinished_turn(
                s, INTERRUPTED_MARKER, partial=s.pending_partial_text, recovered=True
            )
            s.save()
            return True
    except (HermesError, OSError) as exc:
        log.error("could not recover the interrupted turn of %s: %s", session_id, exc)
        return False
