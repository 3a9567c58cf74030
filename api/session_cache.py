"""The web server's sessions in memory, and the locks that order their edits.

One `SessionCache` owns the loaded `Session` objects (an LRU that never evicts a session
with a live run), the lock that guards them, and one non-reentrant edit lock per session,
held from the read to the end of the save in every read-modify-save. Every caller gets the
one object the rest of the server sees, so edits never go to a stale copy.

`api.config` keeps the names the rest of the server and its tests know (`SESSIONS`, `LOCK`,
`SESSION_AGENT_LOCKS`, `_get_session_agent_lock`); they are this object's parts.
"""

from __future__ import annotations

import collections
import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from api.models import Session


class SessionCache:
    def __init__(self, capacity: int, is_busy: Callable[[Session], bool]) -> None:
        """`is_busy(session)`: whether a run is live in it, so it must stay cached."""
        self.sessions: collections.OrderedDict[str, Session] = collections.OrderedDict()
        self.lock = threading.Lock()  # guards `sessions`; never held across disk I/O
        self.edit_locks: dict[str, threading.Lock] = {}
        self.edit_locks_lock = threading.Lock()
        self.capacity = capacity
        self._is_busy = is_busy
        # Ids deleted by this process: a read that loaded the file just before the delete
        # must not put it back. Ids are random and never reused, so the set stays small.
        self._deleted: set[str] = set()

    # ── edit locks ───────────────────────────────────────────────────────────────────────
    def edit_lock(self, sid: str) -> threading.Lock:
        """The one lock that serialises every read-modify-save of session `sid`.

        Non-reentrant on purpose: code that already holds it must not call back into a path
        that takes it again. Hold it for the mutation and the save only, never across an LLM
        call.
        """
        with self.edit_locks_lock:
            lock = self.edit_locks.get(sid)
            if lock is None:
                lock = self.edit_locks[sid] = threading.Lock()
            return lock

    def drop_edit_lock(self, sid: str) -> None:
        """Forget a deleted session's lock; a holder keeps its reference and finishes safely."""
        with self.edit_locks_lock:
            self.edit_locks.pop(sid, None)

    @contextlib.contextmanager
    def session_for_edit(self, sid: str) -> Iterator[Session]:
        """The session to change, held under its edit lock until the block ends."""
        with self.edit_lock(sid):
            yield self.current(sid)

    def current(self, sid: str) -> Session:
        """The cached instance of `sid`, loaded if need be (`SessionNotFound` otherwise);
        another thread may have cached it meanwhile, and that one is returned."""
        from api.models import get_session

        session = get_session(sid)
        with self.lock:
            return self.sessions.get(sid, session)

    # ── the objects ──────────────────────────────────────────────────────────────────────
    def get(self, sid: str) -> Session | None:
        """The cached object, now the most recently used; None when it is not cached."""
        with self.lock:
            session = self.sessions.get(sid)
            if session is not None:
                self.sessions.move_to_end(sid)
            return session

    def peek(self, sid: str) -> Session | None:
        """The cached object, its place in the LRU untouched (for reads of many sessions)."""
        with self.lock:
            return self.sessions.get(sid)

    def keep(self, session: Session) -> None:
        """Cache `session` (a new or re-created one)."""
        with self.lock:
            self._deleted.discard(session.session_id)
            self._insert_locked(session)

    def keep_loaded(self, session: Session) -> Session | None:
        """Cache a session just read from disk, unless it was deleted meanwhile (None) or
        another thread cached it first (that one is returned)."""
        with self.lock:
            if session.session_id in self._deleted:
                return None
            cached = self.sessions.get(session.session_id)
            if cached is not None:
                self.sessions.move_to_end(session.session_id)
                return cached
            self._insert_locked(session)
            return session

    def forget(self, sid: str) -> Session | None:
        """Drop `sid` for good (deleted, or living on under another id); returns the object
        that was cached, if any."""
        with self.lock:
            self._deleted.add(sid)
            return self.sessions.pop(sid, None)

    def rename(self, session: Session, old_id: str, held_lock: threading.Lock) -> None:
        """`session` lives on as `session.session_id` (a compression moved it).

        The edit lock already held is aliased under the new id (the old key may already have
        been pruned by a delete), so every writer keeps serialising on the same lock.
        """
        with self.lock:
            self.sessions.pop(old_id, None)
            self.sessions[session.session_id] = session
        with self.edit_locks_lock:
            self.edit_locks[session.session_id] = held_lock
            self.edit_locks.pop(old_id, None)

    def was_deleted(self, sid: str) -> bool:
        return sid in self._deleted

    def objects(self) -> list[Session]:
        with self.lock:
            return list(self.sessions.values())

    def _insert_locked(self, session: Session) -> None:
        self.sessions[session.session_id] = session
        self.sessions.move_to_end(session.session_id)
        excess = len(self.sessions) - self.capacity
        if excess <= 0:
            return
        for sid in list(self.sessions)[:excess]:
            if not self._is_busy(self.sessions[sid]):
                del self.sessions[sid]
