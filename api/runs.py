"""The runs live in this process: one `Run` per stream, in one registry.

A `Run` owns everything of one stream: its event log, its cancel flag, the agent working
for it, and what the turn has streamed so far. It is also the turn's `TurnEvents`, so the
agent (cached and shared between a session's runs) reports to the run it is working for and
never carries one run's callbacks into the next. The registry is `STREAMS` (stream id →
`Run`) under `STREAMS_LOCK`, the names the rest of the server already checks for liveness.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from api.config import STREAMS, STREAMS_LOCK
from api.run_events import FINISHED_RUNS, RunLog
from hermes_agent.approval_queue import APPROVALS
from hermes_agent.turn import TurnEvents

METERING_SECONDS = 1.0


@dataclass(eq=False)
class Run(TurnEvents):
    """One stream. After a cancel its own events stop: the client has already been told."""

    stream_id: str
    session_id: str
    log: RunLog
    cancel: threading.Event = field(default_factory=threading.Event)
    agent: Any = None
    answer: str | None = None  # the final answer, once the turn is saved
    partial_text: str = ""
    reasoning_text: str = ""
    token_sent: bool = False
    tokens: int = 0
    tool_activity: int = 0
    started: float = field(default_factory=time.monotonic)
    last_metering: float = 0.0

    def put(self, name: str, data: dict[str, Any]) -> None:
        if self.cancel.is_set() and name not in ("cancel", "apperror"):
            return
        self.log.put(name, data)

    # ── TurnEvents ──────────────────────────────────────────────────────────────────────
    def token(self, text: str) -> None:
        self.partial_text += text
        self.token_sent = True
        self.tokens += 1
        self.put("token", {"text": text})
        now = time.monotonic()
        if now - self.last_metering >= METERING_SECONDS:
            self.last_metering = now
            elapsed = max(now - self.started, 1e-6)
            rate = round(self.tokens / elapsed, 1)
            self.put("metering", {"tps": rate, "tokens": self.tokens, "session_id": self.stream_id})

    def reasoning(self, text: str) -> None:
        self.reasoning_text += text
        self.put("reasoning", {"text": text})

    def tool_started(self, name: str, preview: str, args: dict[str, str]) -> None:
        self.partial_text = ""  # the text before this call is recorded with the call
        self.put(
            "tool", {"event_type": "tool.started", "name": name, "preview": preview, "args": args}
        )

    def tool_finished(self, name: str, duration: float, is_error: bool) -> None:
        self.tool_activity += 1
        self.put(
            "tool_complete",
            {
                "event_type": "tool.completed",
                "name": name,
                "duration": duration,
                "is_error": is_error,
            },
        )

    def status(self, kind: str, text: str) -> None:
        self.put("status", {"kind": kind, "text": text})

    def approve(self, request: str, reason: str) -> str:
        item = APPROVALS.open(self.session_id, request, reason)
        self.put("approval", item.public())
        choice = APPROVALS.wait(item)
        # In the run's log, so a page that replays it after a reload shows the card answered.
        self.put("approval_answered", {"approval_id": item.approval_id, "choice": choice})
        return choice


def open_run(session_id: str) -> Run:
    """Register a new run of `session_id` (the caller holds `STREAMS_LOCK`)."""
    stream_id = uuid.uuid4().hex
    run = Run(stream_id, session_id, RunLog(stream_id, session_id))
    STREAMS[stream_id] = run
    return run


def live_run(stream_id: str) -> Run | None:
    with STREAMS_LOCK:
        return STREAMS.get(stream_id)


def live_run_of(session_id: str) -> Run | None:
    """The run live in session `session_id`, if one is."""
    with STREAMS_LOCK:
        return next((run for run in STREAMS.values() if run.session_id == session_id), None)


def close_run(run: Run) -> None:
    """The run is over: out of the registry, its log kept readable for a while."""
    with STREAMS_LOCK:
        STREAMS.pop(run.stream_id, None)
    FINISHED_RUNS.keep(run.log)
