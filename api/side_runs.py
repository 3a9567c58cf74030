"""Runs beside a conversation: a quick side question (btw) and a background task.

A side question sees a copy of the parent's history and never changes the parent: its
answer streams to the asker and is not stored. A background task is a real session of its
own (so nothing it produces is lost); when it finishes, its answer is delivered to the
parent's background status, where the UI picks it up.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from api import agent_runtime, models, run_errors, runs, streaming, turn_messages
from api.config import STREAMS, STREAMS_LOCK
from api.models import get_session
from hermes_agent.errors import Conflict, HermesError
from hermes_agent.turn import TurnEvents

log = logging.getLogger(__name__)

TITLE_PREFIX_CHARS = 60


def ask_aside(parent_id: str, question: str) -> dict[str, str]:
    """Start a side question on a copy of the parent's history; returns the stream ids."""
    parent = get_session(parent_id)
    with STREAMS_LOCK:
        if parent.active_stream_id and parent.active_stream_id in STREAMS:
            raise Conflict(
                "session already has an active stream", active_stream_id=parent.active_stream_id
            )
        run = runs.open_run(uuid.uuid4().hex[:12])
    history = turn_messages.api_history(parent.context_messages or parent.messages)
    threading.Thread(
        target=_run_aside,
        args=(run,),
        kwargs={
            "model": parent.model,
            "workspace": parent.workspace,
            "history": history,
            "question": question,
            "parent_id": parent_id,
        },
        name=f"btw-{run.stream_id[:8]}",
        daemon=True,
    ).start()
    return {
        "stream_id": run.stream_id,
        "session_id": run.session_id,
        "parent_session_id": parent_id,
    }


class _AnswerOnly(TurnEvents):
    """A side question streams its answer only: it asks nobody, so a tool that needs
    approval is refused."""

    def __init__(self, run: runs.Run) -> None:
        self.run = run

    def token(self, text: str) -> None:
        self.run.put("token", {"text": text})


def _run_aside(
    run: runs.Run, *, model: str, workspace: str, history: list, question: str, parent_id: str
) -> None:
    try:
        settings = agent_runtime.current_settings()
        agent = agent_runtime.new_agent(settings, model or settings.effective_model, workspace)
        run.agent = agent
        result = agent.run_conversation(
            question, conversation_history=history, events=_AnswerOnly(run)
        )
        if result.failure is not None:
            run.put("apperror", run_errors.classify(result.failure).event())
            return
        run.put(
            "done",
            {
                "answer": result.final_response or "",
                "ephemeral": True,
                "parent_session_id": parent_id,
                "usage": {
                    "input_tokens": result.usage.input_tokens,
                    "output_tokens": result.usage.output_tokens,
                },
            },
        )
        run.put("stream_end", {"session_id": run.session_id})
    except (HermesError, OSError) as exc:
        run.put("apperror", run_errors.classify(exc).event())
    finally:
        runs.close_run(run)


@dataclass
class BackgroundResult:
    task_id: str
    prompt: str
    session_id: str
    run: runs.Run
    answer: str | None = None
    completed_at: float | None = None
    started_at: float = field(default_factory=time.time)

    def public(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "prompt": self.prompt,
            "session_id": self.session_id,
            "answer": self.answer,
            "completed_at": self.completed_at,
        }


_BACKGROUND: dict[str, list[BackgroundResult]] = {}
_BACKGROUND_LOCK = threading.Lock()


def start_background(parent_id: str, prompt: str) -> BackgroundResult:
    """Run `prompt` as its own session; its answer is later delivered to the parent."""
    parent = get_session(parent_id)
    task = models.new_session(parent.workspace, parent.model, parent.profile)
    task.title = "bg: " + " ".join(prompt.split())[:TITLE_PREFIX_CHARS]
    task.project_id = parent.project_id
    run = streaming.start_run(task.session_id, prompt, parent.model, parent.workspace, [])
    result = BackgroundResult(uuid.uuid4().hex[:8], prompt, task.session_id, run)
    with _BACKGROUND_LOCK:
        _BACKGROUND.setdefault(parent_id, []).append(result)
    threading.Thread(
        target=_deliver, args=(result,), daemon=True, name=f"bg-{result.task_id}"
    ).start()
    return result


def _deliver(result: BackgroundResult) -> None:
    result.run.log.ended.wait()
    result.answer = result.run.answer or "(the background task produced no answer)"
    result.completed_at = time.time()


def background_results(parent_id: str) -> list[dict[str, Any]]:
    """Finished tasks of this parent, each returned once; running ones stay tracked."""
    with _BACKGROUND_LOCK:
        tasks = _BACKGROUND.get(parent_id, [])
        done = [t for t in tasks if t.completed_at is not None]
        _BACKGROUND[parent_id] = [t for t in tasks if t.completed_at is None]
    return [t.public() for t in done]
