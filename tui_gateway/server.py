"""The gateway's state and the functions every method goes through.

`_sessions` maps a live session id (8 hex characters, one per conversation the client has
open) to its session dict (see `session_state.new_session`). `session_key` in it is the
state.db id the gateway believes current; after a compression the agent continues under a new
id, and `_sync_session_key_after_compress` follows it.

The other modules reach `_sessions`, `_emit`, `_get_db`, `_notify_session_boundary`,
`_sync_session_key_after_compress`, `make_stream_renderer` and `render_message` as attributes
of this module at call time, never through `from` imports: each has one definition here, which
an embedding host (or a test) can replace for every method at once.

Nothing heavy is imported at module level: the start-up path loads only this, `rpc`,
`registry` and `render`, so `gateway.ready` goes out before pydantic, the agent or the store
are loaded.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hermes_agent.errors import HermesError, StoreError
from tui_gateway import registry, rpc
from tui_gateway.render import make_stream_renderer, render_message
from tui_gateway.session_state import info_of

if TYPE_CHECKING:
    from hermes_state import ConversationStore

__all__ = ["handle_request", "make_stream_renderer", "render_message", "write_json"]

log = logging.getLogger("tui_gateway")

_sessions: dict[str, dict[str, Any]] = {}
_writer = rpc.Writer()

# HermesError status → application error code; a StoreError is the store's failure, anything
# else the gateway's.
_CODE_FOR_STATUS = {
    400: rpc.BAD_VALUE,
    413: rpc.BAD_VALUE,
    404: rpc.STORED_SESSION_NOT_FOUND,
    409: rpc.SESSION_BUSY,
}


# -- the wire -----------------------------------------------------------------------------------


def write_json(frame: dict[str, Any]) -> bool:
    """Send one frame to the client; False once it is gone."""
    return _writer.write(frame)


def _emit(event: str, sid: str | None, payload: Any = None) -> None:
    write_json(rpc.event(event, sid, payload))


def handle_request(req: Any) -> dict[str, Any] | None:
    """Answer one request object; None for a notification (a request without an id).

    Every failure becomes an error reply, so one bad request never ends the gateway.
    """
    rid = rpc.request_id(req)
    name = "?"
    try:
        name, params = rpc.unpack(req)
        method = registry.lookup(name)
        if method is None:
            raise rpc.RpcError(rpc.METHOD_NOT_FOUND, f"unknown method: {name}")
        reply = rpc.result(rid, method.call(params))
    except rpc.RpcError as exc:
        reply = rpc.error(rid, exc.code, exc.message)
    except StoreError as exc:
        reply = rpc.error(rid, rpc.STORE_UNAVAILABLE, str(exc))
    except HermesError as exc:
        reply = rpc.error(rid, _CODE_FOR_STATUS.get(exc.status, rpc.INTERNAL_ERROR), str(exc))
    except Exception as exc:
        log.exception("method %s failed", name)
        reply = rpc.error(rid, rpc.INTERNAL_ERROR, f"internal error: {exc}")
    return None if rpc.is_notification(req) else reply


def _start_thread(target: Callable[[], object], name: str) -> None:
    """Run `target` on a daemon thread; turns and slow methods all start here.

    `threading.Thread` is looked up on each call, and `target` takes no arguments, so a host
    may swap in a thread class of its own (one that runs the target inline, for instance).
    """
    threading.Thread(target=target, name=name, daemon=True).start()


# -- the store ----------------------------------------------------------------------------------


def _get_db() -> ConversationStore | None:
    """The shared store (opened on first use), or None when it cannot be opened: turns
    still run, unrecorded, and the reason is logged once by the store."""
    from hermes_agent.runtime import state_db

    return state_db()


def _require_db() -> ConversationStore:
    db = _get_db()
    if db is None:
        from hermes_state import format_session_db_unavailable

        detail = format_session_db_unavailable("state.db unavailable")
        raise rpc.RpcError(rpc.STORE_UNAVAILABLE, detail)
    return db


# -- sessions -----------------------------------------------------------------------------------


def _session(sid: str) -> dict[str, Any]:
    session = _sessions.get(sid)
    if session is None:
        raise rpc.RpcError(rpc.SESSION_NOT_FOUND, f"session not found: {sid}")
    return session


def _notify_session_boundary(event: str, session_id: str | None) -> None:
    """A session of the store starts or ends here ("on_session_reset", "on_session_finalize").

    The one place a host hooks session boundaries; the gateway itself only logs them.
    """
    log.info("%s %s", event, session_id)


def _sync_session_key_after_compress(
    sid: str, session: dict[str, Any], *, clear_pending_title: bool = True
) -> None:
    """Follow the agent into the continuation a compression started.

    Called after every turn (a turn may compress on its own) and after `session.compress`.
    A title queued for the old session is dropped after a manual compression
    (`clear_pending_title`), but kept after a turn, so it lands on the continuation.
    """
    new = getattr(session.get("agent"), "session_id", None) or ""
    old = session.get("session_key") or ""
    if not new or new == old:
        return
    session["session_key"] = new
    if clear_pending_title:
        session["pending_title"] = None
    _emit("session.info", sid, info_of(sid, session))


def _finalize_session(session: dict[str, Any] | None, end_reason: str = "tui_close") -> None:
    """End the session's current state.db session, once.

    The agent's id wins over `session_key`: after a compression the key may still name the
    parent, which compression already ended, and ending it again would change nothing while
    the continuation stayed open forever.
    """
    if not session or session.get("_finalized"):
        return
    session["_finalized"] = True
    agent = session.get("agent")
    session_id = getattr(agent, "session_id", None) or session.get("session_key")
    _notify_session_boundary("on_session_finalize", session_id)
    if not session_id:
        return
    db = _get_db()
    if db is None:
        return
    try:
        db.end_session(session_id, end_reason)
    except StoreError as exc:  # closing goes on for the other sessions
        log.warning("could not end session %s: %s", session_id, exc)


def _close_session(sid: str, end_reason: str = "tui_close") -> bool:
    """Stop the session's turn and waiting approvals, end it in the store, forget it."""
    from tui_gateway import approvals

    session = _sessions.pop(sid, None)
    if session is None:
        return False
    agent = session.get("agent")
    if session.get("running") and agent is not None:
        agent.interrupt("session closed")
    approvals.deny_all(sid)
    _finalize_session(session, end_reason)
    return True


def _shutdown_sessions(end_reason: str = "tui_shutdown") -> None:
    for sid in list(_sessions):
        _close_session(sid, end_reason)


def _live_session_for(session_key: str) -> str | None:
    """The live session id working in this store session, if any."""
    for sid, session in list(_sessions.items()):
        if session.get("session_key") == session_key:
            return sid
    return None
