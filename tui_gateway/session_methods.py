"""The `session.*` methods: open, list, resume, close and delete sessions, and work on one.

A live session (`session_id` in most params) is a conversation open in this gateway; a stored
session (`session.resume`, `session.delete`, `session.list` rows) is a row of state.db, from
any surface. A new session has no row until its first turn: the agent creates it then, so a
session opened and closed without a message leaves nothing behind.
"""

from __future__ import annotations

import secrets
import threading
from typing import Annotated, Any

from pydantic import Field

from hermes_agent import history
from hermes_agent.errors import NotFound
from hermes_agent.runtime import attachment_store
from tui_gateway import agents, server
from tui_gateway.params import Params, SessionParams
from tui_gateway.registry import method
from tui_gateway.rpc import (
    BAD_VALUE,
    NOTHING_TO_DO,
    SESSION_ACTIVE,
    STORED_SESSION_NOT_FOUND,
    TITLE_REJECTED,
    RpcError,
)
from tui_gateway.session_state import (
    DEFAULT_COLS,
    info_of,
    new_session,
    refuse_if_running,
    usage_of,
)

Cols = Annotated[int, Field(ge=20, le=1000)]
COMPRESSING = "Compressing the conversation…"


class CreateParams(Params):
    cols: Cols = DEFAULT_COLS
    model: str | None = Field(None, min_length=1, max_length=200)


class ListParams(Params):
    limit: int = Field(50, ge=1, le=1000)
    source: str | None = Field(None, min_length=1, max_length=40)


class ResumeParams(Params):
    session_id: str = Field(min_length=1, max_length=200, description="id, id prefix or title")
    cols: Cols = DEFAULT_COLS


class TitleParams(SessionParams):
    title: str | None = Field(None, max_length=1000)


class StoredParams(Params):
    session_id: str = Field(min_length=1, max_length=200)


def _new_sid() -> str:
    sid = secrets.token_hex(4)
    while sid in server._sessions:
        sid = secrets.token_hex(4)
    return sid


def _register(sid: str, agent: Any, cols: int, messages: list | None = None) -> dict[str, Any]:
    session = new_session(agent, cols, messages)
    server._sessions[sid] = session
    server._notify_session_boundary("on_session_reset", session["session_key"])
    server._emit("session.info", sid, info_of(sid, session))
    return session


@method("session.create", CreateParams)
def create(p: CreateParams) -> dict[str, Any]:
    sid = _new_sid()
    agent = agents.build_agent(sid, model=p.model)
    session = _register(sid, agent, p.cols)
    return {"session_id": sid, "session_key": session["session_key"], "info": info_of(sid, session)}


@method("session.list", ListParams)
def list_sessions(p: ListParams) -> dict[str, Any]:
    """Stored sessions of every surface, most recently active first."""
    rows = server._require_db().list_sessions_rich(
        source=p.source, limit=p.limit, order_by_last_active=True
    )
    return {
        "sessions": [
            {
                "id": row["id"],
                "title": row.get("title"),
                "preview": row.get("preview") or "",
                "source": row.get("source"),
                "model": row.get("model"),
                "started_at": row.get("started_at"),
                "last_active": row.get("last_active"),
                "message_count": row.get("message_count") or 0,
                "live_session_id": server._live_session_for(row["id"]),
            }
            for row in rows
        ]
    }


@method("session.resume", ResumeParams)
def resume(p: ResumeParams) -> dict[str, Any]:
    """Continue a stored session (by id, unique id prefix or title) in a new live session.

    A compressed conversation continues from its newest continuation. The model sees the
    session's own transcript; `messages` is the whole conversation, ancestors included, for
    display.
    """
    db = server._require_db()
    try:
        target = history.resume_target(db, p.session_id)
    except NotFound:
        raise RpcError(STORED_SESSION_NOT_FOUND, f"session not found: {p.session_id}") from None
    live = server._live_session_for(target)
    if live is not None:
        raise RpcError(SESSION_ACTIVE, f"session {target} is already open as {live}")
    sid = _new_sid()
    agent = agents.build_agent(sid, session_id=target)
    db.reopen_session(target)
    session = _register(
        sid, agent, p.cols, db.get_messages_as_conversation(target, with_row_ids=True)
    )
    shown = db.get_messages_as_conversation(target, include_ancestors=True)
    return {
        "session_id": sid,
        "resumed": target,
        "title": db.get_session_title(target),
        "message_count": len(shown),
        "messages": shown,
        "info": info_of(sid, session),
    }


@method("session.branch", SessionParams)
def branch(p: SessionParams) -> dict[str, Any]:
    """A new live session holding a copy of this conversation so far, stored at once under
    its own id and titled "<title> (branch)"; the original stays as it is, closed or not."""
    source = server._session(p.session_id)
    with source["history_lock"]:
        refuse_if_running(source, "branching")
        copied = list(source["history"])
    if not copied:
        raise RpcError(NOTHING_TO_DO, "nothing to branch yet: send a message first")
    db = server._require_db()
    sid = _new_sid()
    agent = agents.build_agent(sid, model=source["agent"].model)
    title = history.store_branch(
        db, source["session_key"], copied, agent.session_id,
        files=attachment_store(), platform=agents.PLATFORM, model=agent.model,
    )  # fmt: skip
    kept = db.get_messages_as_conversation(agent.session_id, with_row_ids=True)
    session = _register(sid, agent, source["cols"], kept)
    return {
        "session_id": sid,
        "branched_from": source["session_key"],
        "title": title,
        "message_count": len(kept),
        "info": info_of(sid, session),
    }


@method("session.close", SessionParams)
def close(p: SessionParams) -> dict[str, Any]:
    return {"closed": server._close_session(p.session_id, "tui_close")}


@method("session.delete", StoredParams)
def delete(p: StoredParams) -> dict[str, Any]:
    """Delete a stored session and its messages; never one that is open here."""
    live = server._live_session_for(p.session_id)
    if live is not None:
        raise RpcError(SESSION_ACTIVE, f"cannot delete an active session (open as {live})")
    if not server._require_db().delete_session(p.session_id):
        raise RpcError(STORED_SESSION_NOT_FOUND, f"session not found: {p.session_id}")
    return {"deleted": p.session_id}


@method("session.title", TitleParams)
def title(p: TitleParams) -> dict[str, Any]:
    """Read the title (no `title`), or set it.

    Before the first turn the store row does not exist yet: the title is kept as pending and
    set after the next completed turn (`pending: true`).
    """
    session = server._session(p.session_id)
    key = session["session_key"]
    db = server._require_db()
    if p.title is None:
        pending = session.get("pending_title")
        return {"title": pending or db.get_session_title(key), "pending": bool(pending)}
    try:
        clean = db.sanitize_title(p.title)
        if clean is None:
            raise RpcError(BAD_VALUE, "title required")
        if db.set_session_title(key, clean):
            session["pending_title"] = None
            return {"title": clean, "pending": False}
    except ValueError as exc:
        raise RpcError(TITLE_REJECTED, str(exc)) from None
    session["pending_title"] = clean
    return {"title": clean, "pending": True}


@method("session.usage", SessionParams)
def usage(p: SessionParams) -> dict[str, Any]:
    return usage_of(server._session(p.session_id).get("agent"))


@method("session.history", SessionParams)
def session_history(p: SessionParams) -> dict[str, Any]:
    """The conversation as stored (ancestors included), else as held in memory."""
    session = server._session(p.session_id)
    db = server._get_db()
    key = session["session_key"]
    messages = db.get_messages_as_conversation(key, include_ancestors=True) if db else []
    if not messages:
        with session["history_lock"]:
            messages = list(session["history"])
    return {"count": len(messages), "messages": messages}


@method("session.undo", SessionParams)
def undo(p: SessionParams) -> dict[str, Any]:
    """Drop the last user message and everything after it, here and in the store."""
    session = server._session(p.session_id)
    with session["history_lock"]:
        refuse_if_running(session, "undo")
        kept = session["history"]
        cut = history.last_user_index(kept)
        if cut is None:
            raise RpcError(NOTHING_TO_DO, "nothing to undo")
        removed, kept = kept[cut:], kept[:cut]
        session["history"] = kept
        session["history_version"] += 1
    history.forget(server._get_db(), session["session_key"], removed)
    content = removed[0].get("content")
    return {"removed": len(removed), "text": content if isinstance(content, str) else ""}


@method("session.compress", SessionParams, slow=True)
def compress(p: SessionParams) -> dict[str, Any]:
    """Summarise the middle of the history now; the session continues under a new store id."""
    sid = p.session_id
    session = server._session(sid)
    with session["history_lock"]:
        refuse_if_running(session, "compressing")
        session["running"] = True
        before = list(session["history"])
        version = session["history_version"]
    cancel = threading.Event()
    session["compress_cancel"] = cancel
    server._emit("status.update", sid, {"kind": "compressing", "text": COMPRESSING})
    try:
        compressed = history.compress(session["agent"], before, cancel)
        with session["history_lock"]:
            if compressed is not None and session["history_version"] == version:
                session["history"] = compressed
                session["history_version"] = version + 1
    finally:
        session.pop("compress_cancel", None)
        with session["history_lock"]:
            session["running"] = False
        server._emit("status.update", sid, {"kind": "ready", "text": None})
    server._sync_session_key_after_compress(sid, session)
    if cancel.is_set():
        return {"status": "interrupted", "session_key": session["session_key"]}
    if compressed is None:
        raise RpcError(NOTHING_TO_DO, "nothing to compress: the conversation is too short")
    return {
        "status": "compressed",
        "before_messages": len(before),
        "after_messages": len(compressed),
        "removed": len(before) - len(compressed),
        "session_key": session["session_key"],
        "usage": usage_of(session["agent"]),
    }


@method("session.interrupt", SessionParams)
def interrupt(p: SessionParams) -> dict[str, Any]:
    """Stop the running turn (or compression) soon; waiting approvals are denied."""
    from tui_gateway import approvals

    session = server._session(p.session_id)
    running = session["running"]
    if running:
        session["agent"].interrupt("interrupted by the user")
        cancel = session.get("compress_cancel")
        if cancel is not None:
            cancel.set()
    approvals.deny_all(p.session_id)
    return {"status": "interrupted" if running else "idle"}
