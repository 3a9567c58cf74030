"""One run of a job: a fresh conversation (source `cron`), its answer delivered, its outcome kept.

Nobody is there to approve anything, so a run gets what the allowlist allows and nothing more,
whatever `approval_mode` says: each request for approval is refused, never run, and listed in
the run's result so the user sees what the job could not do. A job may schedule
further jobs only when the user allowed it (`may_schedule`); otherwise it is not offered the
`cronjob` tool at all. An answer of exactly `[SILENT]` delivers nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hermes_agent.errors import HermesError, StoreError
from hermes_agent.turn import TurnEvents
from hermes_cron.delivery import deliver
from hermes_cron.schedule import zone

if TYPE_CHECKING:
    from hermes_agent.settings import Settings
    from hermes_state import SessionDB

log = logging.getLogger(__name__)

SILENT = "[SILENT]"
PLATFORM = "cron"
SCHEDULING_TOOL = "cronjob"


class _Unattended(TurnEvents):
    """A run's turn: nothing to show as it happens, and every approval refused and noted."""

    def __init__(self) -> None:
        self.refused: list[str] = []

    def approve(self, request: str, reason: str) -> str | None:
        self.refused.append(f"{request} ({reason})")
        return None


def run_job(db: SessionDB, settings: Settings, job: dict[str, Any], run_id: int) -> str:
    """Run `job` as run `run_id` and record how it ended; returns that status."""
    from hermes_agent.agent import new_session_id
    from hermes_cron.clock import clock_from_env

    clock = clock_from_env()
    session_id = new_session_id()
    try:
        db.create_session(session_id, PLATFORM, model=job["model"] or settings.effective_model)
        db.cron_set_run_session(run_id, session_id)  # linked at once: a cut-off run shows too
        _title(db, session_id, job, db.cron_run(run_id)["slot"])
        status, result, error = _converse(db, settings, job, session_id)
    except (HermesError, OSError) as exc:
        log.warning("scheduled job %s failed: %s", job["id"], exc)
        db.cron_finish(run_id, "failed", clock.now(), error=str(exc))
        return "failed"
    delivered = None
    if status == "ok":
        delivered = deliver(settings, job, result, session_id)
    db.cron_finish(run_id, status, clock.now(), result=result, error=error, delivered=delivered)
    return status


def _converse(
    db: SessionDB, settings: Settings, job: dict[str, Any], session_id: str
) -> tuple[str, str, str | None]:
    """The run's turn in conversation `session_id`: (status, result, error)."""
    from hermes_agent import AIAgent
    from hermes_agent.runtime import shared_provider
    from hermes_agent.tools.approval import ApprovalPolicy
    from hermes_agent.tools.registry import tools_named

    events = _Unattended()
    tools = tools_named(settings.enabled_tools)
    if not job["may_schedule"]:
        tools = [tool for tool in tools if tool.name != SCHEDULING_TOOL]
    agent = AIAgent.from_settings(
        settings,
        provider=shared_provider(),
        model=job["model"] or settings.effective_model,
        session_id=session_id,
        session_db=db,
        platform=PLATFORM,
        workspace=_workspace(job),
        tools=tools,
        # "ask", with nobody to answer: what needs approval is refused, and noted by events.
        approval=ApprovalPolicy("ask", settings.terminal_allowlist),
        events=events,
    )
    outcome = agent.run_conversation(_message(job))
    answer = (outcome.final_response or "").strip()
    refused = "".join(f"\n- {item}" for item in events.refused)
    note = f"\n\n⚠️ Not allowed without someone to approve it:{refused}" if refused else ""
    if outcome.failure is not None:
        return "failed", answer + note, str(outcome.failure)
    if outcome.interrupted or not answer:
        reason = "it was interrupted" if outcome.interrupted else "the model gave no answer"
        return "failed", answer + note, reason
    if answer == SILENT and not refused:
        return "silent", answer, None
    return "ok", answer + note, None


def _message(job: dict[str, Any]) -> str | list[dict[str, Any]]:
    """The prompt, with a part naming each skill to load (as `/<skill>` would)."""
    from hermes_agent.skills import SKILL_PART

    if not job["skills"]:
        return job["prompt"]
    skills = [{"type": SKILL_PART, SKILL_PART: name, "text": name} for name in job["skills"]]
    return [{"type": "text", "text": job["prompt"]}, *skills]


def _workspace(job: dict[str, Any]) -> Path:
    from hermes_agent.settings import DEFAULT_WORKSPACE

    path = Path(job["workspace"] or DEFAULT_WORKSPACE).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _title(db: SessionDB, session_id: str, job: dict[str, Any], slot: float) -> None:
    """ "⏰ <name> · <the slot's time>": the run is found by when it was meant for."""
    when = datetime.fromtimestamp(slot, UTC).astimezone(zone(job["timezone"]))
    title = f"⏰ {job['name']} · {when:%Y-%m-%d %H:%M}"
    try:
        db.set_session_title(session_id, db.get_next_title_in_lineage(title))
    except (StoreError, ValueError) as exc:
        log.info("scheduled run %s keeps no title: %s", session_id, exc)
