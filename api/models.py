"""Web sessions: one JSON file per session, an in-memory LRU of live objects, the sidebar list.

Module globals (`SESSION_DIR`, `SESSION_INDEX_FILE`, `SESSIONS`, `STREAMS`, ...) are read at
call time, never captured, so a test can point them elsewhere with `monkeypatch`.

A new session exists only in memory until its first `save()`: opening "New chat" and leaving
writes nothing. Once saved, a session lives in `<SESSION_DIR>/<sid>.json`, written atomically,
and as one row in the sidebar index (`api.session_index`).
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import math
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from api import session_index
from api.config import (
    CACHE,
    DEFAULT_MODEL,
    DEFAULT_WORKSPACE,
    LEGACY_DEFAULT_WORKSPACE,
    LOCK,
    SESSION_DIR,
    SESSION_INDEX_FILE,
    SESSIONS,
    STREAMS,
    STREAMS_LOCK,
    _get_session_agent_lock,
)
from api.storage import JSONDecodeError, atomic_write, dumps_file, loads
from api.validation import is_valid_session_id
from hermes_agent.errors import BadRequest, SessionNotFound, StoreError

__all__ = [
    "LOCK",
    "SESSIONS",
    "STREAMS",
    "STREAMS_LOCK",
    "Session",
    "_get_session_agent_lock",
    "all_sessions",
    "delete_session",
    "get_session",
    "new_session",
    "session_index",
    "title_from",
]

log = logging.getLogger(__name__)

UNTITLED = "Untitled"
TITLE_FROM_MAX = 64
METADATA_SCAN_BYTES = 65536

# Written first, in this order, so a reader can take the metadata without parsing messages.
METADATA_KEYS = (
    "session_id",
    "title",
    "workspace",
    "model",
    "created_at",
    "updated_at",
    "pinned",
    "archived",
    "project_id",
    "profile",
    "input_tokens",
    "output_tokens",
    "estimated_cost",
    "personality",
    "active_stream_id",
    "pending_user_message",
    "pending_attachments",
    "pending_started_at",
    "compression_anchor_visible_idx",
    "compression_anchor_message_key",
    "context_length",
    "threshold_tokens",
    "last_prompt_tokens",
)
# Optional attributes that survive a reload when present in the file.
EXTRA_KEYS = ("context_messages", "llm_title_generated")


class Session:
    """One conversation as the web UI sees it: display transcript plus run metadata."""

    def __init__(  # noqa: PLR0917 - the stored field list, keyword-compatible with files
        self,
        session_id: str | None = None,
        title: str = UNTITLED,
        workspace: str | os.PathLike | None = None,
        model: str | None = None,
        messages: list | None = None,
        created_at: float | None = None,
        updated_at: float | None = None,
        tool_calls: list | None = None,
        pinned: bool = False,
        archived: bool = False,
        project_id: str | None = None,
        profile: str | None = None,
        input_tokens: int = 0,
        output_tokens: int = 0,
        estimated_cost: float | None = None,
        personality: str | None = None,
        active_stream_id: str | None = None,
        pending_user_message: str | None = None,
        pending_attachments: list | None = None,
        pending_started_at: float | None = None,
        context_messages: list | None = None,
        compression_anchor_visible_idx: int | None = None,
        compression_anchor_message_key: str | None = None,
        context_length: int | None = None,
        threshold_tokens: int | None = None,
        last_prompt_tokens: int | None = None,
        llm_title_generated: bool | None = None,
        pending_partial_text: str | None = None,
        state_cursor: int | None = None,
        state_message_count: int | None = None,
        state_rows_to_forget: list | None = None,
        **_unknown: Any,
    ) -> None:
        now = time.time()
        self.session_id = session_id or uuid.uuid4().hex[:12]
        self.title = title if isinstance(title, str) and title else UNTITLED
        self.workspace = _normalise_workspace(workspace if workspace else DEFAULT_WORKSPACE)
        self.model = model if model is not None else DEFAULT_MODEL
        self.messages = messages if isinstance(messages, list) else []
        self.tool_calls = tool_calls if isinstance(tool_calls, list) else []
        self.created_at = _timestamp(created_at, now)
        self.updated_at = _timestamp(updated_at, now)
        self.pinned = bool(pinned)
        self.archived = bool(archived)
        self.project_id = project_id or None
        self.profile = profile
        self.input_tokens = input_tokens or 0
        self.output_tokens = output_tokens or 0
        self.estimated_cost = estimated_cost
        self.personality = personality
        self.active_stream_id = active_stream_id
        self.pending_user_message = pending_user_message
        self.pending_attachments = pending_attachments or []
        self.pending_started_at = pending_started_at
        self.context_messages = context_messages if isinstance(context_messages, list) else []
        self.compression_anchor_visible_idx = compression_anchor_visible_idx
        self.compression_anchor_message_key = compression_anchor_message_key
        self.context_length = context_length
        self.threshold_tokens = threshold_tokens
        self.last_prompt_tokens = last_prompt_tokens
        if llm_title_generated is not None:
            self.llm_title_generated = bool(llm_title_generated)
        # The streamed answer so far, checkpointed during a run so a crash keeps it.
        self.pending_partial_text = pending_partial_text
        # The row id of this conversation's newest state.db message that the browser's copy
        # includes; later rows were said on another surface (see api.other_surfaces). None
        # until a browser turn of it is recorded there.
        self.state_cursor = state_cursor
        # Files written before cursors counted the rows instead; the first edit converts it.
        self.state_message_count = state_message_count
        # Rows an edit took out of the transcript, saved with the edit and deleted from
        # state.db after it; a kill in between leaves them here for startup to finish.
        self.state_rows_to_forget = state_rows_to_forget
        self._metadata_message_count: int | None = None
        self._metadata_only = False
        self._deleted = False

    @property
    def path(self) -> Path:
        if not is_valid_session_id(self.session_id):
            raise BadRequest("Invalid session_id")
        return SESSION_DIR / f"{self.session_id}.json"

    # ── serialisation ────────────────────────────────────────────────────────────────────
    def to_dict(self) -> dict[str, Any]:
        """The file's content: metadata first, then the transcript, then extras.

        Attributes whose names start with `_` are runtime state and are never written.
        """
        attrs = self.__dict__
        data = {key: attrs.get(key) for key in METADATA_KEYS}
        data["messages"] = self.messages
        data["tool_calls"] = self.tool_calls
        for key, value in attrs.items():
            if not key.startswith("_") and key not in data:
                data[key] = value
        return data

    def compact(
        self, include_runtime: bool = False, active_stream_ids: set[str] | None = None
    ) -> dict[str, Any]:
        """The sidebar row: metadata only, cheap to build, stored in the index."""
        count = self._metadata_message_count
        stream_id = self.active_stream_id
        return {
            "session_id": self.session_id,
            "title": self.title,
            "workspace": self.workspace,
            "model": self.model,
            "message_count": len(self.messages) if count is None else count,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "last_message_at": self._last_message_at(),
            "pinned": self.pinned,
            "archived": self.archived,
            "project_id": self.project_id,
            "profile": self.profile,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "estimated_cost": self.estimated_cost,
            "personality": self.personality,
            "compression_anchor_visible_idx": self.compression_anchor_visible_idx,
            "compression_anchor_message_key": self.compression_anchor_message_key,
            "context_length": self.context_length,
            "threshold_tokens": self.threshold_tokens,
            "last_prompt_tokens": self.last_prompt_tokens,
            "active_stream_id": stream_id,
            "has_pending_message": bool(self.pending_user_message),
            "forget_pending": bool(self.state_rows_to_forget),
            "is_streaming": bool(
                include_runtime and stream_id and stream_id in (active_stream_ids or ())
            ),
        }

    def _last_message_at(self) -> float:
        for message in reversed(self.messages):
            if not isinstance(message, dict) or message.get("role") == "tool":
                continue
            stamp = _epoch_seconds(message.get("_ts") or message.get("timestamp"))
            if stamp is not None:
                return stamp
        return self.updated_at

    @contextlib.contextmanager
    def all_or_nothing(self) -> Iterator[None]:
        """An edit in the block stays only if the block ends normally (its save included):
        on an exception every field is put back, so the one object the server shows never
        holds half an edit. Edits assign new values (lists included), never change one in
        place."""
        before = dict(self.__dict__)
        try:
            yield
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    # ── persistence ──────────────────────────────────────────────────────────────────────
    def save(self, touch_updated_at: bool = True, skip_index: bool = False) -> None:
        """Write the session file atomically and refresh its sidebar row.

        Takes no lock: callers serialise writers of one session with its agent lock.
        Checkpoints pass `skip_index=True`: the row is refreshed in memory only, and reaches
        `_index.json` with the next write the index makes for any other reason. A deleted
        session refuses to save, so a late writer cannot bring it back.
        """
        if self._metadata_only:
            raise StoreError("A metadata-only session cannot be saved")
        if self._deleted or CACHE.was_deleted(self.session_id):
            raise SessionNotFound(self.session_id)
        if touch_updated_at:
            self.updated_at = time.time()
        path = self.path
        data = dumps_file(self.to_dict())
        index = _session_index()
        with index.saving():
            atomic_write(path, data)
            if skip_index:
                index.refresh(self.compact())
            else:
                index.put(self.compact())

    @classmethod
    def load(cls, sid: str) -> Session | None:
        """The session stored under `sid`, or None when the id is invalid or has no file."""
        if not is_valid_session_id(sid):
            return None
        return _read_session_file(SESSION_DIR / f"{sid}.json")

    @classmethod
    def load_metadata_only(cls, sid: str) -> Session | None:
        """Metadata without parsing the transcript; falls back to a full load when unsure.

        Files are written with the metadata keys first and two-space indentation, so the
        top-level `"messages"` key is the first line starting with exactly two spaces and
        that key: nested keys sit deeper, and string values cannot hold a raw newline.
        """
        if not is_valid_session_id(sid):
            return None
        path = SESSION_DIR / f"{sid}.json"
        try:
            with open(path, "rb") as f:
                head = f.read(METADATA_SCAN_BYTES)
        except FileNotFoundError:
            return None
        cut = head.find(b'\n  "messages":')
        meta = None
        if cut > 0:
            with contextlib.suppress(JSONDecodeError):
                meta = loads(head[:cut].rstrip().rstrip(b",") + b"\n}")
        required = ("session_id", "title", "created_at", "updated_at")
        if not isinstance(meta, dict) or any(key not in meta for key in required):
            return cls.load(sid)
        session = cls(**meta)
        row = _session_index().get(sid)
        session._metadata_message_count = row.get("message_count") if row else None
        session._metadata_only = True
        return session


_INIT_FIELDS = frozenset(inspect.signature(Session.__init__).parameters) - {"self", "_unknown"}


def _timestamp(value: object, default: float) -> float:
    """Epoch seconds; anything unusable (0, null, text) becomes `default`, so sorting works."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return _epoch_seconds(value) or default
    return default


def _epoch_seconds(value: object) -> float | None:
    """A message's time as a finite number, or None: "inf" or "nan" in an imported message
    would sort above every session forever and reach clients as null."""
    try:
        stamp = float(value) if value else None
    except (TypeError, ValueError, OverflowError):
        return None
    return stamp if stamp is not None and math.isfinite(stamp) else None


def _normalise_workspace(workspace: str | os.PathLike) -> str:
    """An absolute path; the old default inside the protected Hermes home becomes the new one,
    since no file tool may touch it."""
    path = Path(workspace).expanduser()
    normal = os.path.normpath(path) if path.is_absolute() else str(path.resolve())
    if normal == str(LEGACY_DEFAULT_WORKSPACE) and LEGACY_DEFAULT_WORKSPACE != DEFAULT_WORKSPACE:
        return str(DEFAULT_WORKSPACE)
    return normal


def _read_session_file(path: Path) -> Session | None:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        data = loads(raw)
    except JSONDecodeError as exc:
        raise StoreError(f"Session file {path.name} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise StoreError(f"Session file {path.name} does not hold a JSON object")
    data["session_id"] = path.name[: -len(".json")]
    return Session(**{key: value for key, value in data.items() if key in _INIT_FIELDS})


def _index_row_from_file(path: Path) -> dict | None:
    try:
        session = _read_session_file(path)
    except StoreError as exc:
        log.warning("left out of the sidebar: %s", exc)
        return None
    return session.compact() if session else None


def _session_index() -> session_index.SessionIndex:
    return session_index.index_for(SESSION_DIR, SESSION_INDEX_FILE, _index_row_from_file)


# ── the cache and the sidebar ─────────────────────────────────────────────────────────────
def get_session(sid: str, metadata_only: bool = False) -> Session:
    """The live object for `sid`: from the cache, else from disk. Raises `SessionNotFound`.

    Every caller gets the same object while it stays cached. A metadata-only load is never
    cached, so a later full load can never see its empty transcript.
    """
    cached = CACHE.get(sid)
    if cached is not None:
        return cached
    loaded = Session.load_metadata_only(sid) if metadata_only else Session.load(sid)
    if loaded is None:
        raise SessionNotFound(sid)
    if loaded._metadata_only:
        return loaded
    kept = CACHE.keep_loaded(loaded)
    if kept is None:
        raise SessionNotFound(sid)
    return kept


def new_session(
    workspace: str | None = None,
    model: str | None = None,
    profile: str | None = None,
    project_id: str | None = None,
) -> Session:
    """A session in memory only: nothing reaches the disk until its first `save()`.

    A crash before the first message loses it, and there was nothing in it to lose.
    """
    session = Session(
        workspace=workspace, model=model, profile=profile or "default", project_id=project_id
    )
    CACHE.keep(session)
    return session


def forget_session_files(sid: str) -> None:
    """Remove a session's file and index row; the caller holds the session's agent lock.

    Used when a session lives on under a new id (compression), so the old id must vanish
    from disk and from the sidebar without a second lock acquisition.
    """
    CACHE.forget(sid)
    with contextlib.suppress(FileNotFoundError):
        (SESSION_DIR / f"{sid}.json").unlink()
    _session_index().remove(sid)


def delete_session(sid: str) -> bool:
    """Remove a session's file, cache entry and index row; True if a file was removed.

    Holds the session's lock, so an edit in progress finishes first and a later one finds
    nothing; the id is remembered so a read racing the delete cannot cache it again.
    """
    if not is_valid_session_id(sid):
        raise BadRequest("Invalid session_id")
    with CACHE.edit_lock(sid):
        cached = CACHE.forget(sid)
        if cached is not None:
            cached._deleted = True
        try:
            (SESSION_DIR / f"{sid}.json").unlink()
            removed = True
        except FileNotFoundError:
            removed = False
        _session_index().remove(sid)
    CACHE.drop_edit_lock(sid)
    return removed


def index_rows() -> list[dict]:
    """Every saved session's sidebar row, from memory."""
    return _session_index().rows()


def all_sessions() -> list[dict]:
    """The sidebar: pinned first, then newest activity; empty Untitled drafts hidden.

    Reads only memory once the index is loaded: the saved rows, overlaid by the live objects
    of cached sessions (whose state may be ahead of their last save). Rows are shared with
    the index: copy one before changing it.
    """
    with STREAMS_LOCK:
        active = set(STREAMS)
    rows = {row["session_id"]: row for row in _session_index().rows()}
    for session in CACHE.objects():
        rows[session.session_id] = session.compact(True, active)
    visible = [row for row in rows.values() if not _is_empty_draft(row)]
    for i, row in enumerate(visible):
        streaming = row.get("active_stream_id") in active
        if row.get("is_streaming") is not streaming:
            visible[i] = {**row, "is_streaming": streaming}
    visible.sort(key=_sidebar_order, reverse=True)
    return visible


def _is_empty_draft(row: dict) -> bool:
    return (
        (row.get("title") or UNTITLED) == UNTITLED
        and not row.get("message_count")
        and not row.get("active_stream_id")
        and not row.get("has_pending_message")
    )


def _sidebar_order(row: dict) -> tuple[bool, float]:
    return bool(row.get("pinned")), row.get("last_message_at") or row.get("updated_at") or 0


def title_from(messages: list, fallback: str = UNTITLED) -> str:
    """The first user message's text, cut to 64 characters, as a session title."""
    for message in messages or []:
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        text = message_text(message.get("content")).strip()
        if text:
            return text[:TITLE_FROM_MAX]
    return fallback


def message_text(content: Any) -> str:
    """Plain text of a message's content: a string, or the text parts of a parts list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return "" if content is None else str(content)


def is_marker(message: dict[str, Any]) -> bool:
    """A note the page shows about a turn (a failure, a stop), not something anyone said."""
    if message.get("_error"):
        return True
    return bool(message.get("_stopped")) and not message.get("_partial")
