"""Terminal commands waiting for the user's decision, per session.

Shared by every surface: the agent's worker thread blocks in `wait` until the user answers
(in the browser, the terminal or a chat app), the run is cancelled, or the wait times out
(which counts as a denial).
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

CHOICES = ("once", "session", "always", "deny")
APPROVAL_TIMEOUT_SECONDS = 300


@dataclass
class PendingApproval:
    approval_id: str
    session_id: str
    command: str
    reason: str
    requested_at: float = field(default_factory=time.time)
    choice: str | None = None
    answered: threading.Event = field(default_factory=threading.Event)

    def public(self) -> dict[str, Any]:
        return {
            "approval_id": self.approval_id,
            "session_id": self.session_id,
            "command": self.command,
            "reason": self.reason,
            "requested_at": self.requested_at,
            "choices": list(CHOICES),
        }


class Approvals:
    def __init__(self) -> None:
        self._pending: dict[str, list[PendingApproval]] = {}
        self._lock = threading.Lock()

    def open(self, session_id: str, command: str, reason: str) -> PendingApproval:
        item = PendingApproval(uuid.uuid4().hex[:12], session_id, command, reason)
        with self._lock:
            self._pending.setdefault(session_id, []).append(item)
        return item

    def wait(self, item: PendingApproval, timeout: float = APPROVAL_TIMEOUT_SECONDS) -> str:
        item.answered.wait(timeout)
        with self._lock:
            queue = self._pending.get(item.session_id, [])
            if item in queue:
                queue.remove(item)
        return item.choice or "deny"

    def pending(self, session_id: str) -> list[PendingApproval]:
        with self._lock:
            return list(self._pending.get(session_id, []))

    def respond(self, session_id: str, choice: str, approval_id: str | None = None) -> bool:
        """Answer the given (or oldest) pending approval; False when nothing was waiting."""
        with self._lock:
            queue = self._pending.get(session_id, [])
            item = next(
                (p for p in queue if approval_id in (None, p.approval_id) and p.choice is None),
                None,
            )
            if item is None:
                return False
            item.choice = choice
        item.answered.set()
        return True

    def deny_all(self, session_id: str) -> None:
        for item in self.pending(session_id):
            self.respond(session_id, "deny", item.approval_id)


APPROVALS = Approvals()
