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
import uuid
from dataclasses import dataclass, field
from typing import Any

from api import agent_runtime, models, run_errors, turn_merge
from api.config import (
    LOCK,
    SESSION_AGENT_LOCKS,
    SESSION_AGENT_LOCKS_LOCK,
    SESSIONS,
    STREAMS,
    STREAMS_LOCK,
    _get_session_agent_lock,
)
from api.models import Session, get_session, title_from
from api.redact import redact
from api.run_events import FINISHED_RUNS, RunLog
from api.turn_fold import CANCELLED_MARKER, clear_pending, fold_unfinished_turn
from hermes_agent.approval_queue import APPROVALS
from hermes_agent.errors import Conflict, HermesError

log = logging.getLogger(__name__)

CHECKPOINT_POLL_SECONDS = 0.25
CHECKPOINT_TEXT_SECONDS = 2.0
METERING_SECONDS = 1.0


@dataclass
class _RunState:
    """What the callbacks of one run have seen so far."""

    stream_id: str
    partial_text: str = ""
    reasoning: str = ""
    token_sent: bool = False
    tokens: int = 0
    tool_activity: int = 0
    started: float = field(default_factory=time.monotonic)
    last_metering: float = 0.0


# Guarded by STREAMS_LOCK, keyed by stream id.
CANCEL_FLAGS: dict[str, threading.Event] = {}
AGENT_INSTANCES: dict[str, Any] = {}
RUN_STATES: dict[str, _RunState] = {}


def start_run(session_id: str, message: str, model: str, workspace: str, attachments: list) -> str:
    """Save the user's turn as pending (fsynced), register the run, start its worker."""
    with _get_session_agent_lock(session_id):
        s = get_session(session_id)
        with LOCK:
            s = SESSIONS.get(session_id, s)
        with STREAMS_LOCK:
            if s.active_stream_id and s.active_stream_id in STREAMS:
                raise Conflict(
                    "session already has an active stream", active_stream_id=s.active_stream_id
                )
            stream_id = uuid.uuid4().hex
            STREAMS[stream_id] = RunLog(stream_id, session_id)
            CANCEL_FLAGS[stream_id] = threading.Event()
        s.workspace, s.model = workspace, model
        s.active_stream_id = stream_id
        s.pending_user_message = message
        s.pending_attachments = attachments
        s.pending_started_at = time.time()
        s.pending_partial_text = None
        try:
            s.save()
        except BaseException:
            _unregister(stream_id)
            raise
    worker = threading.Thread(
        target=_run_agent_streaming,
        args=(session_id, message, model, workspace, stream_id, attachments),
        name=f"run-{stream_id[:8]}",
        daemon=True,
    )
    worker.start()
    return stream_id


def _run_agent_streaming(  # noqa: PLR0912, PLR0915, PLR0917 - shape fixed by the run contract
    session_id: str,
    msg_text: str,
    model: str,
    workspace: str,
    stream_id: str,
    attachments: list | None = None,
    *,
    ephemeral: bool = False,
) -> None:
    with STREAMS_LOCK:
        run_log = STREAMS.get(stream_id)
        cancel = CANCEL_FLAGS.get(stream_id)
    if run_log is None or cancel is None:
        return
    put = _guarded_put(run_log, cancel)
    run = _RunState(stream_id)
    s = None
    _checkpoint_stop = None
    _ckpt_thread = None
    _agent_lock = None
    try:
        s = get_session(session_id)
        _agent_lock = _get_session_agent_lock(session_id)
        agent = agent_runtime.agent_for(session_id, model, workspace)
        _bind_callbacks(agent, run, put, cancel, session_id)
        with STREAMS_LOCK:
            AGENT_INSTANCES[stream_id] = agent
            RUN_STATES[stream_id] = run
        if cancel.is_set():
            agent.interrupt()
            return
        _previous_messages = list(s.messages)
        _previous_context = turn_merge.api_history(s.context_messages or s.messages)
        _compressions_before = agent.context_compressor.compression_count
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
                        if cancel.is_set() or s.active_stream_id != stream_id:
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
                msg_text,
                conversation_history=_previous_context,
                persist_user_message=msg_text,
            )
            if _checkpoint_stop is not None:
                _checkpoint_stop.set()
            if _ckpt_thread is not None:
                _ckpt_thread.join(timeout=15)
            with _agent_lock:
                _result_messages = result.get("messages") or _previous_context
                if cancel.is_set():
                    return  # cancel_stream saved the turn; nothing may overwrite it
                _next_context_messages = turn_merge.api_history(_result_messages)
                s.context_messages = _next_context_messages
                _new_messages = turn_merge.new_display_messages(
                    _previous_context, _result_messages, msg_text
                )
                _attach(_new_messages, attachments, run.reasoning)
                turn_merge.stamp(_new_messages, s.pending_started_at)
                _assistant_added = turn_merge.has_assistant_text(_new_messages)
                _token_sent = run.token_sent
                _failure = _failure_of(result)
                if not _assistant_added and not _token_sent:
                    _failure = _failure or run_errors.no_response(result.get("error"))
                if _failure is not None:
                    _finish_failed(s, _failure, run.partial_text, _new_messages)
                    put("apperror", _failure.event())
                    return
                # ── Handle context compression side effects ──
                _compressed = agent.context_compressor.compression_count > _compressions_before
                if agent.session_id != session_id:
                    _follow_rotation(s, session_id, agent.session_id, _agent_lock)
                s.messages = _previous_messages + _new_messages
                _add_turn_usage(s, result)
                first_title = s.title in ("", models.UNTITLED)
                if first_title:
                    s.title = title_from(s.messages)
                s.tool_calls = turn_merge.tool_call_summaries(s.messages)
                clear_pending(s)
                s.save()
                if first_title:
                    agent_runtime.mirror_title(s.session_id, s.title)
                done = _done_event(s, result)
            if _compressed:
                put("compressed", {"message": "Context compressed to continue the conversation"})
            put("done", done)
            _finish_with_title(s, msg_text, result, put, agent)
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
                if not cancel.is_set() and s.active_stream_id == stream_id:
                    _finish_failed(s, failure, run.partial_text)
        put("apperror", failure.event())
    finally:
        _unregister(stream_id)
        FINISHED_RUNS.keep(run_log)


def _guarded_put(run_log: RunLog, cancel: threading.Event):
    """After a cancel, the run's own events stop: the client has already been told."""

    def put(name: str, data: dict[str, Any]) -> None:
        if cancel.is_set() and name not in ("cancel", "apperror"):
            return
        run_log.put(name, data)

    return put


def _unregister(stream_id: str) -> None:
    with STREAMS_LOCK:
        STREAMS.pop(stream_id, None)
        CANCEL_FLAGS.pop(stream_id, None)
        AGENT_INSTANCES.pop(stream_id, None)
        RUN_STATES.pop(stream_id, None)


def _bind_callbacks(agent: Any, run: _RunState, put, cancel: threading.Event, sid: str) -> None:
    """Point the (cached) agent's callbacks at this run's event log."""

    def on_token(text: str) -> None:
        run.partial_text += text
        run.token_sent = True
        run.tokens += 1
        put("token", {"text": text})
        now = time.monotonic()
        if now - run.last_metering >= METERING_SECONDS:
            run.last_metering = now
            elapsed = max(now - run.started, 1e-6)
            put(
                "metering",
                {
                    "tps": round(run.tokens / elapsed, 1),
                    "tokens": run.tokens,
                    "session_id": run.stream_id,
                },
            )

    def on_reasoning(text: str) -> None:
        run.reasoning += text
        put("reasoning", {"text": text})

    def on_tool(event: str, name: str, preview: Any = None, args: Any = None, **kw: Any) -> None:
        if event == "tool.started":
            run.partial_text = ""  # the text before this call is recorded with the call
            put("tool", {"event_type": event, "name": name, "preview": preview, "args": args})
        elif event == "tool.completed":
            run.tool_activity += 1
            put(
                "tool_complete",
                {
                    "event_type": event,
                    "name": name,
                    "duration": kw.get("duration"),
                    "is_error": kw.get("is_error"),
                },
            )

    def on_status(kind: str, text: str | None = None) -> None:
        put("status", {"kind": kind, "text": text})

    def ask_approval(command: str, reason: str) -> str:
        item = APPROVALS.open(sid, command, reason)
        put("approval", item.public())
        choice = APPROVALS.wait(item)
        # In the run's log, so a page that replays it after a reload shows the card answered.
        put("approval_answered", {"approval_id": item.approval_id, "choice": choice})
        return choice

    agent.stream_delta_callback = on_token
    agent.reasoning_callback = on_reasoning
    agent.tool_progress_callback = on_tool
    agent.status_callback = on_status
    agent.tool_context.ask_approval = ask_approval


def _attach(messages: list[dict], attachments: list | None, reasoning: str) -> None:
    if attachments:
        for m in messages:
            if m.get("role") == "user":
                m["attachments"] = [
                    a.get("name") if isinstance(a, dict) else a for a in attachments
                ]
                break
    if reasoning.strip():
        for m in reversed(messages):
            if m.get("role") == "assistant":
                m.setdefault("reasoning", reasoning)
                break


def _failure_of(result: dict[str, Any]) -> run_errors.RunFailure | None:
    if not result.get("failed"):
        return None
    kind = str(result.get("turn_exit_reason") or "").removeprefix("provider_")
    return run_errors.classify_text(result.get("error") or "The run failed.", kind)


def _finish_failed(
    s: Session,
    failure: run_errors.RunFailure,
    partial: str,
    completed: list[dict] | None = None,
) -> None:
    """Keep the user's turn, add the error marker after it, save (lock held by the caller)."""
    fold_unfinished_turn(s, failure.marker(), partial=partial, completed=completed)
    try:
        s.save()
    except (HermesError, OSError) as exc:
        log.error("could not save the failed turn of %s: %s", s.session_id, exc)


def _follow_rotation(s: Session, old_id: str, new_id: str, held_lock: threading.Lock) -> None:
    """The agent continued in a new session after compression: so does the web session.

    The lock object already held is aliased under the new id (the old key may already have
    been pruned by a delete), so every writer keeps serialising on the same lock.
    """
    s.session_id = new_id
    with LOCK:
        SESSIONS.pop(old_id, None)
        SESSIONS[new_id] = s
    with SESSION_AGENT_LOCKS_LOCK:
        SESSION_AGENT_LOCKS[new_id] = held_lock
        SESSION_AGENT_LOCKS.pop(old_id, None)
    agent_runtime.rekey_agent(old_id, new_id)
    models.forget_session_files(old_id)


def _add_turn_usage(s: Session, result: dict[str, Any]) -> None:
    """Add this turn's own usage: never the agent's running totals."""
    s.input_tokens = (s.input_tokens or 0) + int(result.get("input_tokens") or 0)
    s.output_tokens = (s.output_tokens or 0) + int(result.get("output_tokens") or 0)
    cost = result.get("estimated_cost_usd")
    if cost is not None:
        s.estimated_cost = (s.estimated_cost or 0.0) + cost


def _done_event(s: Session, result: dict[str, Any]) -> dict[str, Any]:
    session = {**s.compact(), "messages": s.messages, "tool_calls": s.tool_calls}
    usage = {
        "input_tokens": result.get("input_tokens", 0),
        "output_tokens": result.get("output_tokens", 0),
        "estimated_cost": result.get("estimated_cost_usd"),
        "cost_status": result.get("cost_status"),
    }
    return {"session": redact(session), "usage": usage}


def _finish_with_title(s: Session, msg_text: str, result: dict, put, agent: Any) -> None:
    """End with `stream_end`, after a generated title when this session deserves one."""
    answer = result.get("final_response") or ""
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
        run_log = STREAMS.get(stream_id)
        flag = CANCEL_FLAGS.get(stream_id)
        if run_log is None or flag is None or run_log.finished:
            return False
        flag.set()
        agent = AGENT_INSTANCES.get(stream_id)
        run = RUN_STATES.get(stream_id)
    if agent is not None:
        agent.interrupt("Cancelled by user")
    if run_log.put("cancel", {"message": "Cancelled by user"}) is None:
        return False  # the run ended just before the cancel
    session_id = run_log.session_id
    APPROVALS.deny_all(session_id)
    # Session cleanup outside STREAMS_LOCK: the agent lock orders it with checkpoints and
    # with the worker's final save, which sees the cancel flag and leaves this state alone.
    try:
        with _get_session_agent_lock(session_id):
            s = get_session(session_id)
            with LOCK:
                s = SESSIONS.get(session_id, s)
            if s.active_stream_id == stream_id:
                _save_cancelled_turn(s, run.partial_text if run else "")
    except (HermesError, OSError) as exc:
        log.warning("could not save the cancelled turn of %s: %s", session_id, exc)
    return True


def _save_cancelled_turn(s: Session, partial: str) -> None:
    fold_unfinished_turn(s, CANCELLED_MARKER, partial=partial)
    s.save()
