"""`prompt.submit`: one user turn, run on a thread of its own while the gateway reads on.

The reply is `{"status": "streaming"}` at once; the turn then sends `message.start`, a
`message.delta` per piece of text, tool and status events, and ends with `message.complete`
(`status` "complete", "interrupted" or "error"). Everything the turn changes in the session
(history, the store id after a compression, titles) is done before `running` is cleared and
`message.complete` goes out, so a client may submit again the moment it sees it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field

from hermes_agent.attachment_content import keep_files_for, user_content
from hermes_agent.attachments import MAX_PER_MESSAGE
from hermes_agent.errors import StoreError
from hermes_agent.runtime import attachment_store
from hermes_agent.turn import TurnResult, as_turn_result
from tui_gateway import agents, server
from tui_gateway.params import SessionParams
from tui_gateway.registry import method
from tui_gateway.session_state import DEFAULT_COLS, info_of, refuse_if_running, usage_of

log = logging.getLogger("tui_gateway")

MAX_PROMPT_CHARS = 1_000_000
HISTORY_CHANGED = (
    "History changed during this turn: the answer above is shown but was not saved to the "
    "session history."
)


class SubmitParams(SessionParams):
    text: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS)
    attachments: list[str] = Field(
        default_factory=list, max_length=MAX_PER_MESSAGE, description="Local files to send."
    )


@method("prompt.submit", SubmitParams)
def submit(p: SubmitParams) -> dict[str, Any]:
    sid = p.session_id
    session = server._session(sid)
    with session["history_lock"]:
        refuse_if_running(session, "sending another message")
    files = [attachment_store().add_file(Path(path)).public() for path in p.attachments]
    message = Message(p.text, files)
    with session["history_lock"]:
        refuse_if_running(session, "sending another message")
        session["running"] = True
    try:
        server._start_thread(lambda: _run_prompt_submit(sid, session, message), f"turn-{sid}")
    except RuntimeError:  # no thread to run it on: the session must not stay busy
        with session["history_lock"]:
            session["running"] = False
        raise
    return {"status": "streaming"}


@dataclass(frozen=True)
class Message:
    """What the person sent: the text, and the files stored for it."""

    text: str
    files: list[dict[str, Any]]


def _run_prompt_submit(sid: str, session: dict[str, Any], message: Message) -> None:
    agent = session["agent"]
    try:
        complete = _turn(sid, session, agent, message)
    except Exception as exc:  # the turn's end must reach the client whatever went wrong
        log.exception("turn of session %s failed", sid)
        server._emit("error", sid, {"message": str(exc)})
        complete = {"text": f"Error: {exc}", "status": "error", "usage": usage_of(agent)}
    finally:
        with session["history_lock"]:
            session["running"] = False
    server._emit("message.complete", sid, complete)


def _turn(sid: str, session: dict[str, Any], agent: Any, message: Message) -> dict[str, Any]:
    text = message.text
    with session["history_lock"]:
        history = list(session["history"])
        version = session["history_version"]
    cols = session.get("cols") or DEFAULT_COLS
    server._emit("message.start", sid)
    events = getattr(agent, "events", None)
    if isinstance(events, agents.AgentEvents):
        events.start_answer(cols)
    result = as_turn_result(
        agent.run_conversation(user_content(text, message.files), conversation_history=history),
        session_id=getattr(agent, "session_id", ""),
    )
    if message.files:
        keep_files_for(attachment_store(), result.session_id, [{"attachments": message.files}])
    warning = _store_history(session, result, version)
    server._sync_session_key_after_compress(sid, session, clear_pending_title=False)
    complete = _outcome(result)
    if complete["status"] == "complete":
        _apply_pending_title(sid, session)
        _auto_title(sid, session, text)
    complete["usage"] = usage_of(agent)
    rendered = server.render_message(complete["text"], cols) if complete["text"] else None
    if rendered:
        complete["rendered"] = rendered
    if warning:
        complete["warning"] = warning
    return complete


def _store_history(session: dict[str, Any], result: TurnResult, version: int) -> str | None:
    """Keep the turn's history as the new one, unless history changed meanwhile (or the
    agent did not say what it is)."""
    if not result.context:
        return None
    with session["history_lock"]:
        if session["history_version"] != version:
            log.warning("history changed during a turn; its messages were not kept")
            return HISTORY_CHANGED
        session["history"] = list(result.context)
        session["history_version"] = version + 1
    return None


def _outcome(result: TurnResult) -> dict[str, Any]:
    """The answer's text and status, plus this turn's usage and reasoning when known."""
    text = result.final_response or ""
    if result.interrupted:
        status = "interrupted"
    elif result.failure is not None:
        status = "error"
    else:
        status = "complete"
    outcome: dict[str, Any] = {"text": text, "status": status}
    if result.failure is not None and status == "error":
        outcome["error"] = str(result.failure)
        outcome["text"] = text or f"Error: {outcome['error']}"
    if result.usage.api_calls:
        outcome["turn_usage"] = result.usage.as_dict()
    if result.last_reasoning and result.last_reasoning.strip():
        outcome["reasoning"] = result.last_reasoning
    return outcome


def _apply_pending_title(sid: str, session: dict[str, Any]) -> None:
    """Set a title queued before the store row existed.

    A ValueError (the title is taken or invalid) will not go away: the title is dropped, and
    the automatic one takes over. Any other failure may (a locked database): it is kept for
    the next turn.
    """
    title = session.get("pending_title")
    if not title:
        return
    db = server._get_db()
    if db is None:
        return
    key = session.get("session_key") or sid
    try:
        if db.set_session_title(key, title):
            session["pending_title"] = None
    except ValueError as exc:
        log.info("Dropping pending title for session %s: %s", key, exc)
        session["pending_title"] = None
    except Exception as exc:  # transient: retried after the next turn
        log.warning("could not set the title of %s yet: %s", key, exc)


def _auto_title(sid: str, session: dict[str, Any], text: str) -> None:
    """Name an untitled session after the user's first words (no model call)."""
    from hermes_agent.titles import title_session

    if session.get("pending_title"):
        return
    db = server._get_db()
    key = session.get("session_key")
    if db is None or not key:
        return
    try:
        title = title_session(db, key, text)
    except StoreError as exc:
        log.warning("could not title session %s: %s", key, exc)
        return
    if title:
        server._emit("session.info", sid, {**info_of(sid, session), "title": title})
