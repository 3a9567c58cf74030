"""`/cron`, the same in the terminal and the chat apps: list, add, show, pause, resume, remove
and run jobs, each answered with text for people (bold as `**`).

`parse` reads what follows `/cron` (`add SCHEDULE | PROMPT`, `pause ID`, …); `manage` does it.
A mistake is a BadRequest (or NotFound for an unknown job) saying how to write the command.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hermes_agent.errors import BadRequest
from hermes_cron import jobs, service
from hermes_cron.summary import job_text, jobs_text, next_run

if TYPE_CHECKING:
    from hermes_state import SessionDB

ACTIONS = ("list", "add", "show", "pause", "resume", "remove", "run")
USAGE = (
    "/cron lists the jobs; /cron add SCHEDULE | PROMPT schedules one (SCHEDULE: 0 8 * * 1-5, "
    "every 2h, in 30m or 2026-12-24T09:00); /cron show|pause|resume|remove|run ID."
)


@dataclass(frozen=True)
class Request:
    action: str = "list"
    job_id: str | None = None
    schedule: str | None = None
    prompt: str | None = None


def parse(argument: str) -> Request:
    """What follows `/cron`: nothing (list), `add SCHEDULE | PROMPT`, or `<action> ID`."""
    action, _, rest = argument.strip().partition(" ")
    action, rest = action.lower() or "list", rest.strip()
    if action not in ACTIONS:
        raise BadRequest(f"unknown /cron action {action!r}. {USAGE}")
    if action == "add":
        schedule, bar, prompt = rest.partition("|")
        if not bar:
            raise BadRequest(f"write /cron add SCHEDULE | PROMPT. {USAGE}")
        return Request(action, schedule=schedule.strip(), prompt=prompt.strip())
    return Request(action, job_id=rest or None)


def manage(
    db: SessionDB,
    request: Request,
    *,
    deliver: str,
    origin: str,
    timezone: str,
    here: str | None = None,
) -> str:
    """Do `request`; a new job delivers to `deliver`. `here` is where the asker reads, so a
    run delivered there is not shown twice."""
    if request.action == "list":
        return jobs_text(db)
    if request.action == "add":
        return _add(db, request, deliver=deliver, origin=origin, timezone=timezone)
    job = _job(db, request)
    if request.action == "show":
        return job_text(job, db.cron_runs(job["id"]))
    if request.action == "run":
        return _run(db, job, here)
    return _change(db, job, request.action)


def _job(db: SessionDB, request: Request) -> dict[str, Any]:
    if request.action not in ACTIONS:
        raise BadRequest(f"unknown /cron action {request.action!r}. {USAGE}")
    if not request.job_id:
        raise BadRequest(f"/cron {request.action} needs a job id. {USAGE}")
    return jobs.existing(db, request.job_id)


def _change(db: SessionDB, job: dict[str, Any], action: str) -> str:
    """Remove, pause or resume `job`."""
    if action == "remove":
        jobs.remove(db, job["id"])
        return f"🗑 Removed {_named(job)}."
    changed = jobs.set_paused(db, job["id"], action == "pause", time.time())
    service.poke()
    if changed["paused"]:
        return f"⏸ Paused {_named(job)}."
    return f"▶️ Resumed {_named(job)}; next run {next_run(changed)}."


def _add(db: SessionDB, request: Request, *, deliver: str, origin: str, timezone: str) -> str:
    job = jobs.create(
        db,
        schedule=request.schedule or "",
        prompt=request.prompt or "",
        timezone=timezone,
        now=time.time(),
        deliver=deliver,
        origin=origin,
    )
    service.poke()
    shown = jobs.public(job)
    return (
        f"⏰ Scheduled **{job['name']}** ({job['id']}): {shown['description']}. "
        f"Next run {next_run(job)}; answers go to {job['deliver']}."
    )


def _run(db: SessionDB, job: dict[str, Any], here: str | None) -> str:
    """Run `job` now and wait; its answer, unless delivery already brought it `here`."""
    run = db.cron_run(service.run_now(job, wait=True)) or {}
    name = _named(job)
    if run.get("status") == "failed":
        return f"⚠️ {name} failed: {run.get('error') or 'no reason given'}"
    if run.get("status") == "silent":
        return f"🔕 {name} ran and had nothing to report."
    if here is not None and run.get("delivered") == here:
        return f"✅ Ran {name}: its answer is above."
    return f"✅ {name}:\n\n{run.get('result') or ''}".rstrip()


def _named(job: dict[str, Any]) -> str:
    return f"**{job['name']}** ({job['id']})"
