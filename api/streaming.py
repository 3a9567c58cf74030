"""One chat run: the agent in a worker thread, its events, checkpoints, cancel and titles.

The user's message is on disk before the worker starts (`start_run`). While the agent works,
`_periodic_checkpoint` saves the streamed text so far and tool progress. Every way out — an
answer, a provider error, an empty answer, an exception, a cancel — leaves the user's message
in the transcript; failures add a visible error marker after it.

The per-session agent lock is held for mutations and saves only, never across the model call.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any

from api import agent_runtime, models, other_surfaces, run_errors, runs, turn_messages
from api.config import (
    CACHE,
    LOCK,
    SESSIONS,
    STREAMS,
    STREAMS_LOCK,
    _get_session_agent_lock,
)
from api.models import Session, get_session, title_from
from api.turn_fold import STOPPED_MARKER, clear_pending, fold_unfinished_turn
from hermes_agent.approval_queue import APPROVALS
from hermes_agent.attachment_content import keep_files_for, user_content
from hermes_agent.errors import Conflict, HermesError
from hermes_agent.redaction import redact
from hermes_agent.runtime import attachment_store
from hermes_agent.turn import TurnResult
from hermes_agent.usage import UsageReport

log = logging.getLogger(__name__)

CHECKPOINT_POLL_SECONDS = 0.25
CHECKPOINT_TEXT_SECONDS = 2.0


def start_run(
    session_id: str, message: str, model: str, workspace: str, attachments: list
) -> runs.Run:
    """Bring the session up to date, save the user's turn as pending (fsynced), register the
    run, start its worker."""
    with CACHE.session_for_edit(session_id) as s:
        other_surfaces.catch_up(s)
        with STREAMS_LOCK:
            if s.active_stream_id and s.active_stream_id in STREAMS:
                raise Conflict(
                    "session already has an active stream", active_stream_id=s.active_stream_id
                )
            run = runs.open_run(session_id)
        try:
            with s.all_or_nothing():
                s.workspace, s.model = workspace, model
                s.active_stream_id = run.stream_id
                s.pending_user_message = message
                s.pending_attachments = attachments
                s.pending_started_at = time.time()
                s.pending_partial_text = None
                s.save()
        except BaseException:
            runs.close_run(run)
            raise
    worker = threading.Thread(
        target=_run_agent_streaming,
        args=(session_id, message, model, workspace, run.stream_id, attachments),
        name=f"run-{run.stream_id[:8]}",
        daemon=True,
    )
    worker.start()
    return run


def _run_agent_streaming(  # noqa: PLR0912, PLR0915, PLR0917 - shape fixed by the run contract
    session_id: str,
    msg_text: str,
    model: str,
    workspace: str,
    stream_id: str,
    attachments: list | None = None,
) -> None:
    run = runs.live_run(stream_id)
    if run is None:
        return
    put = run.put
    s = None
    _checkpoint_stop = None
    _ckpt_thread = None
    _agent_lock = None
    try:
        s = get_session(session_id)
        _agent_lock = _get_session_agent_lock(session_id)
        agent = agent_runtime.agent_for(session_id, model, workspace)
        run.agent = agent
        if run.cancel.is_set():
            agent.interrupt()
            return
        _previous_context = turn_messages.api_history(s.context_messages or s.messages)
        try:

            def _periodic_checkpoint():
                """Save streamed text every 2 s and tool progress at once, under the lock."""
                saved_activity, saved_text, saved_at = 0, "", time.monotonic()
                while not _checkpoint_stop.wait(CHECKPOINT_POLL_SECONDS):
                    text_due = run.partial_text != saved_text and (
                        time.monotonic() - saved_at >= CHECKPOINT_TEXT_SECONDS
                    )
                    if run.tool_activity == saved_activity and not text_due:
                        continue
                    with _agent_lock:
                        if run.cancel.is_set() or s.active_stream_id != stream_id:
                            return
                        s.pending_partial_text = run.partial_text or None
                        s.save(skip_index=True)
                    saved_activity, saved_text = run.tool_activity, run.partial_text
                    saved_at = time.monotonic()

            _checkpoint_stop = threading.Event()
            _ckpt_thread = threading.Thread(
                target=_periodic_checkpoint, name=f"ckpt-{session_id[:8]}", daemon=True
            )
            _ckpt_thread.start()
            result = agent.run_conversation(
                user_content(msg_text, attachments or []),
                conversation_history=_previous_context,
                events=run,
            )
            if _checkpoint_stop is not None:
                _checkpoint_stop.set()
            if _ckpt_thread is not None:
                _ckpt_thread.join(timeout=15)
            with _agent_lock:
                _result_messages = turn_messages.shown_messages(
                    result, attachments, run.reasoning_text, s.pending_started_at
                )
                if run.cancel.is_set():
                    return  # cancel_stream saved the turn; nothing may overwrite it
                _next_context_messages = turn_messages.api_history(list(result.context))
                s.context_messages = _next_context_messages
                _assistant_added = result.answered
                _token_sent = run.token_sent
                _failure = run_errors.classify(result.failure) if result.failure else None
                if not _assistant_added and not _token_sent:
                    _failure = _failure or run_errors.no_response(None)
                if _failure is not None:
                    _finish_failed(s, _failure, run.partial_text, _result_messages, result)
                    put("apperror", _failure.event())
                    return
                # ── Handle context compression side effects ──
                if result.session_id != session_id:
                    _follow_rotation(s, session_id, result.session_id, _agent_lock)
                s.messages = s.messages + _result_messages
                if result.last_row_id is not None:
                    s.state_cursor = result.last_row_id
                _add_turn_usage(s, result.usage)
                first_title = s.title in ("", models.UNTITLED)
                if first_title:
                    s.title = title_from(s.messages)
                s.tool_calls = turn_messages.tool_call_summaries(s.messages)
                clear_pending(s)
                s.save()
                if first_title:
                    agent_runtime.mirror_title(s.session_id, s.title)
                done = _done_event(s, result.usage)
                run.answer = result.final_response
            if result.compressed:
                put("compressed", {"message": "Context compressed to continue the conversation"})
            put("done", done)
            _finish_with_title(s, msg_text, result.final_response or "", put, agent)
        finally:
            APPROVALS.deny_all(session_id)
            if _checkpoint_stop is not None:
                _checkpoint_stop.set()
    except Exception as exc:
        log.exception("chat run %s failed", stream_id)
        failure = run_errors.classify(exc)
        if s is not None:
            if _checkpoint_stop is not None:
                _checkpoint_stop.set()
            if _ckpt_thread is not None:
                _ckpt_thread.join(timeout=15)
            _lock_ctx = _agent_lock if _agent_lock is not None else contextlib.nullcontext()
            with _lock_ctx:
                if not run.cancel.is_set() and s.active_stream_id == stream_id:
                    _finish_failed(s, failure, run.partial_text)
        put("apperror", failure.event())
    finally:
        runs.close_run(run)


def _finish_failed(
    s: Session,
    failure: run_errors.RunFailure,
    partial: str,
    completed: list[dict] | None = None,
    result: TurnResult | None = None,
) -> None:
    """Keep the user's turn, add the error marker after it, save (lock held by the caller)."""
    fold_unfinished_turn(
        s,
        failure.marker(),
        partial=partial,
        completed=completed,
        last_row_id=result.last_row_id if result is not None else None,
    )
    try:
        s.save()
    except (HermesError, OSError) as exc:
        log.error("could not save the failed turn of %s: %s", s.session_id, exc)


def _follow_rotation(s: Session, old_id: str, new_id: str, held_lock: threading.Lock) -> None:
    """The agent continued in a new session after compression: so does the web session,
    under the edit lock already held, with the files it carries."""
    s.session_id = new_id
    CACHE.rename(s, old_id, held_lock)
    agent_runtime.rekey_agent(old_id, new_id)
    models.forget_session_files(old_id)
    files = attachment_store()
    if keep_files_for(files, new_id, s.messages):  # else the old id keeps them alive
        with contextlib.suppress(OSError):
            files.forget_session(old_id)


def _add_turn_usage(s: Session, usage: UsageReport) -> None:
    """Add this turn's own usage: never the agent's running totals."""
    s.input_tokens = (s.input_tokens or 0) + usage.input_tokens
    s.output_tokens = (s.output_tokens or 0) + usage.output_tokens
    if usage.estimated_cost_usd is not None:
        s.estimated_cost = (s.estimated_cost or 0.0) + usage.estimated_cost_usd


def _done_event(s: Session, usage: UsageReport) -> dict[str, Any]:
    session = {**s.compact(), "messages": s.messages, "tool_calls": s.tool_calls}
    cost = {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "estimated_cost": usage.estimated_cost_usd,
        "cost_status": usage.cost_status,
    }
    return {"session": redact(session), "usage": cost}


def _finish_with_title(s: Session, msg_text: str, answer: str, put, agent: Any) -> None:
    """End with `stream_end`, after a generated title when this session deserves one."""
    if _title_is_automatic(s) and agent_runtime.current_settings().llm_titles and answer:
        _run_background_title_update(s.session_id, msg_text, answer, s.title, put, agent)
    else:
        put("stream_end", {"session_id": s.session_id})


def _title_is_automatic(s: Session) -> bool:
    """A title the user never set: the default, or the first words of the first message."""
    if getattr(s, "llm_title_generated", None) is not None:
        return False
    return s.title in ("", models.UNTITLED, title_from(s.messages))


def _run_background_title_update(  # noqa: PLR0917 - signature fixed by the run contract
    session_id: str,
    user_text: str,
    assistant_text: str,
    placeholder_title: str,
    put_event,
    agent: Any = None,
) -> None:
    """Ask the model for a title; keep a title the user set meanwhile. Ends the stream."""
    from hermes_agent.titles import generate_title, local_title

    try:
        title = (
            generate_title(agent.provider, agent.model, user_text, assistant_text)
            if agent
            else None
        )
        source = "llm" if title else "fallback"
        title = title or local_title(user_text) or placeholder_title
        with _get_session_agent_lock(session_id):
            s = get_session(session_id)
            with LOCK:
                s = SESSIONS.get(session_id, s)
            if not _title_is_automatic(s) or s.title != placeholder_title:
                put_event(
                    "title_status",
                    {"session_id": session_id, "status": "skipped", "reason": "manual_title"},
                )
                return
            s.title = title
            s.llm_title_generated = source == "llm"
            s.save(touch_updated_at=False)
            agent_runtime.mirror_title(session_id, title)
        put_event("title_status", {"session_id": session_id, "status": source, "title": title})
        put_event("title", {"session_id": session_id, "title": title})
    except (HermesError, OSError) as exc:
        log.warning("title for %s failed: %s", session_id, exc)
        put_event(
            "title_status", {"session_id": session_id, "status": "skipped", "reason": "error"}
        )
    finally:
        put_event("stream_end", {"session_id": session_id})


def cancel_stream(stream_id: str) -> bool:
    """Stop a run: interrupt the agent, tell readers, and save the turn as it stands."""
    with STREAMS_LOCK:
        run = STREAMS.get(stream_id)
        if run is None or run.log.finished:
            return False
        run.cancel.set()
    if run.agent is not None:
        run.agent.interrupt("Cancelled by user")
    if run.log.put("cancel", {"message": "Cancelled by user"}) is None:
        return False  # the run ended just before the cancel
    session_id = run.session_id
    APPROVALS.deny_all(session_id)
    # Session cleanup outside STREAMS_LOCK: the agent lock orders it with checkpoints and
    # with the worker's final save, which sees the cancel flag and leaves this state alone.
    try:
        with _get_session_agent_lock(session_id):
            s = CACHE.current(session_id)
            if s.active_stream_id == stream_id:
                _save_cancelled_turn(s, run.partial_text)
    except (HermesError, OSError) as exc:
        log.warning("could not save the cancelled turn of %s: %s", session_id, exc)
    return True


def _save_cancelled_turn(s: Session, partial: str) -> None:
    fold_unfinished_turn(s, STOPPED_MARKER, partial=partial, stopped=True)
    s.save()
