"""Operations on one saved session: retry, undo, edits of its metadata, status and usage.

Every read-modify-save holds the session's agent lock from the read to the end of the save,
so concurrent requests (two tabs, a retry racing a checkpoint) apply one after the other and
the file never holds a mix. Inside the lock the session is rebound to the cached instance
under `LOCK`: everyone mutates the one object the rest of the server sees.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from api import agent_runtime, other_surfaces, turn_messages
from api.config import CACHE, LOCK, STREAMS, STREAMS_LOCK, _get_session_agent_lock
from api.models import UNTITLED, Session, get_session, message_text
from api.turn_messages import linked_rows
from hermes_agent.errors import BadRequest, Conflict, EmptyTranscript, StoreError
from hermes_agent.usage import context_fill

log = logging.getLogger(__name__)

TITLE_MAX = 80
PREVIEW_MAX = 40


def retry_last(session_id: str) -> dict[str, Any]:
    """Drop the last user turn and everything after it; return its text to send again."""
    with _get_session_agent_lock(session_id):
        s = _current(session_id)
        _refuse_while_live(s, "retry")
        linked = _linked(s)
        with s.all_or_nothing():
            with LOCK:
                text, removed = _drop_last_exchange(s, "No previous message to retry.")
            _note_rows_to_forget(s, linked)
            s.save()
        forget_rows(s)
    return {"last_user_text": text, "removed_count": removed}


def undo_last(session_id: str) -> dict[str, Any]:
    """Drop the last user turn and everything after it, for good."""
    with _get_session_agent_lock(session_id):
        s = _current(session_id)
        _refuse_while_live(s, "undo")
        linked = _linked(s)
        with s.all_or_nothing():
            with LOCK:
                text, removed = _drop_last_exchange(s, "Nothing to undo.")
            _note_rows_to_forget(s, linked)
            s.save()
        forget_rows(s)
    preview = text[:PREVIEW_MAX] + "..." if len(text) > PREVIEW_MAX else text
    return {"removed_count": removed, "removed_preview": preview}


def _drop_last_exchange(s: Session, empty_message: str) -> tuple[str, int]:
    history = s.messages or []
    cut = _last_user_index(history)
    if cut is None:
        raise EmptyTranscript(empty_message)
    text = message_text(history[cut].get("content"))
    s.messages = history[:cut]
    if s.context_messages:
        context_cut = _last_user_index(s.context_messages)
        if context_cut is not None:
            s.context_messages = s.context_messages[:context_cut]
    return text, len(history) - cut


def _last_user_index(messages: list) -> int | None:
    for i in range(len(messages) - 1, -1, -1):
        message = messages[i]
        if isinstance(message, dict) and message.get("role") == "user":
            return i
    return None


def _current(session_id: str) -> Session:
    """The cached instance, caught up with what other surfaces said in it since (the edit
    works on what the page shows). Call with the session's edit lock held."""
    s = CACHE.current(session_id)
    other_surfaces.catch_up(s)
    return s


def update_session(
    session_id: str, mutate: Callable[[Session], None], *, transcript: bool = False
) -> Session:
    """Apply `mutate` to the session and save it, all under its agent lock.
    `transcript`: the change may remove messages, whose state.db rows go with them."""
    with CACHE.session_for_edit(session_id) as s:
        if transcript:
            _refuse_while_live(s, "change the transcript")
            other_surfaces.catch_up(s)
        linked = _linked(s) if transcript else set()
        with s.all_or_nothing():
            with LOCK:
                mutate(s)
            _note_rows_to_forget(s, linked)
            s.save()
        forget_rows(s)
    return s


def _refuse_while_live(s: Session, action: str) -> None:
    """A transcript edit during a live answer would be undone by the run's own last save:
    409, naming the run, so the page can offer to stop it first."""
    running = live_stream_id(s)
    if running:
        raise Conflict(
            f"An answer is still being written; stop it before you {action}",
            active_stream_id=running,
        )


def _linked(s: Session) -> set[int]:
    return linked_rows(s.messages) | linked_rows(s.context_messages)


def _note_rows_to_forget(s: Session, linked_before: set[int]) -> None:
    """Name, in the edit's own save, the state.db rows of the messages it removed: the
    deletion after the save then survives a kill between the two (`forget_rows`)."""
    gone = linked_before - _linked(s)
    if gone:
        s.state_rows_to_forget = sorted(gone | set(s.state_rows_to_forget or ()))


def forget_rows(s: Session) -> None:
    """Delete from state.db the rows a saved edit removed, so the terminal and chat apps
    that resume the conversation see the same turns, and none the browser took back. Rows
    are named by id: a message said twice is never mistaken for the other. Deleting is
    idempotent (ids are never reused), so startup may finish it again."""
    rows = s.state_rows_to_forget
    db = agent_runtime.state_db()
    if not rows or db is None:
        return
    try:
        db.delete_messages(s.session_id, rows)
    except StoreError as exc:
        log.warning("state.db kept %d message(s) removed from %s: %s", len(rows), s.session_id, exc)
        return
    s.state_rows_to_forget = None  # written with the session's next save


def rename_session(session_id: str, title: str) -> Session:
    clean = " ".join(str(title).split())[:TITLE_MAX]
    if not clean:
        raise BadRequest("title must not be empty")

    def apply(s: Session) -> None:
        s.title = clean
        s.llm_title_generated = False

    session = update_session(session_id, apply)
    agent_runtime.mirror_title(session_id, clean)
    return session


def set_pinned(session_id: str, pinned: bool) -> Session:
    return update_session(session_id, lambda s: setattr(s, "pinned", bool(pinned)))


def set_archived(session_id: str, archived: bool) -> Session:
    return update_session(session_id, lambda s: setattr(s, "archived", bool(archived)))


def move_to_project(session_id: str, project_id: str | None) -> Session:
    return update_session(session_id, lambda s: setattr(s, "project_id", project_id or None))


def change_workspace_and_model(
    session_id: str, workspace: str | None, model: str | None
) -> Session:
    """Set what the next turn uses; None leaves a field alone, model "" means the default.

    A live run keeps the workspace it started with, so moving the session elsewhere under it
    is refused (409); a new model only applies from the next turn, so it may change anytime.
    The check and the save share the agent lock that `start_run` takes, so no run can start
    between them.
    """

    def apply(s: Session) -> None:
        if workspace is not None and workspace != s.workspace:
            running = live_stream_id(s)
            if running:
                raise Conflict(
                    "A run is active in this session; change its workspace when it has ended",
                    active_stream_id=running,
                )
            s.workspace = workspace
        if model is not None:
            s.model = model

    return update_session(session_id, apply)


def live_stream_id(s: Session) -> str | None:
    """The id of the run live in `s`, if one is."""
    with STREAMS_LOCK:
        stream_id = s.active_stream_id
        return stream_id if stream_id and stream_id in STREAMS else None


def clear_session(session_id: str) -> Session:
    """Empty the transcript (display and model context) and reset the title."""

    def apply(s: Session) -> None:
        s.messages = []
        s.context_messages = []
        s.tool_calls = []
        s.title = UNTITLED

    return update_session(session_id, apply, transcript=True)


def truncate_session(session_id: str, keep_count: int) -> Session:
    """Keep the first `keep_count` messages; the model context restarts from what is kept."""
    if keep_count < 0:
        raise BadRequest("keep_count must be a non-negative integer")

    def apply(s: Session) -> None:
        s.messages = s.messages[:keep_count]
        s.context_messages = []
        s.tool_calls = turn_messages.tool_call_summaries(s.messages)

    return update_session(session_id, apply, transcript=True)


def session_status(session_id: str) -> dict[str, Any]:
    s = get_session(session_id)
    running = live_stream_id(s) is not None
    return {
        "session_id": s.session_id,
        "title": s.title,
        "model": s.model,
        "workspace": s.workspace,
        "personality": s.personality,
        "message_count": len(s.messages),
        "created_at": s.created_at,
        "updated_at": s.updated_at,
        "agent_running": running,
        **_token_totals(s),
    }


def session_usage(session_id: str) -> dict[str, Any]:
    """Token and cost totals, and how full the context window is (for the chat header)."""
    s = get_session(session_id)
    length = int(s.context_length or agent_runtime.current_settings().context_length)
    history = turn_messages.api_history(s.context_messages or s.messages)
    return {**_token_totals(s), "model": s.model, **context_fill(history, length)}


def _token_totals(s: Session) -> dict[str, Any]:
    input_tokens = int(s.input_tokens or 0)
    output_tokens = int(s.output_tokens or 0)
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
        "estimated_cost": s.estimated_cost,
    }
