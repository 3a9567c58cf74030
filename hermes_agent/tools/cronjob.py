"""`cronjob`: the agent schedules work on request ("remind me tomorrow at 9").

A job it creates delivers where the conversation is: to the Telegram chat it was asked in, or
to the web UI otherwise, unless the model names another target. Runs are unattended, so they
never get more than the allowlist (see `hermes_cron.execute`); and a job's own run is not
offered this tool unless the user allowed that job to schedule others, so a job cannot
multiply itself. Jobs made here cannot schedule further jobs.
"""

from __future__ import annotations

from typing import Any

from hermes_agent.errors import StoreError, ToolError
from hermes_agent.tools.registry import Tool, ToolContext

ACTIONS = ("create", "list", "remove", "pause", "resume")


def cronjob(args: dict[str, Any], ctx: ToolContext) -> str:
    from hermes_agent.runtime import current_settings, state_db
    from hermes_cron import jobs, service
    from hermes_cron.clock import clock_from_env
    from hermes_cron.delivery import problem_with, target_of
    from hermes_cron.summary import jobs_text

    action = args.get("action")
    if action not in ACTIONS:
        raise ToolError(f"action must be one of {', '.join(ACTIONS)}")
    db = state_db()
    if db is None:
        raise StoreError("the store is unavailable, so jobs cannot be scheduled now")
    now = clock_from_env().now()  # the scheduler's time
    if action == "list":
        return jobs_text(db)
    if action == "create":
        job = jobs.create(
            db,
            schedule=str(args.get("schedule") or ""),
            prompt=str(args.get("prompt") or ""),
            name=args.get("name"),
            deliver=args.get("deliver") or target_of(ctx.session_id),
            timezone=current_settings().timezone,
            now=now,
            origin=f"agent:{ctx.session_id}" if ctx.session_id else "agent",
        )
        service.poke()
        shown = jobs.public(job)
        problem = problem_with(job["deliver"])
        warning = f" Warning: answers cannot reach it yet: {problem}." if problem else ""
        return (
            f"Scheduled job {job['id']} ({job['name']}): {shown['description']}; "
            f"first run {shown['next_run']}; delivers to {job['deliver']}.{warning}"
        )
    job = jobs.existing(db, str(args.get("job_id") or ""))
    if action == "remove":
        jobs.remove(db, job["id"])
        return f"Removed the scheduled job {job['id']} ({job['name']})."
    changed = jobs.set_paused(db, job["id"], action == "pause", now)
    service.poke()
    return f"{'Paused' if changed['paused'] else 'Resumed'} the scheduled job {job['id']}."


# The `hermes_station.tools` entry point `cronjob` (see pyproject.toml).
CRONJOB = Tool(
    "cronjob",
    "Schedule a prompt to run unattended later or repeatedly, its answer delivered to the "
    "user; or list, pause, resume, remove jobs. Schedules: cron in the user's zone "
    "('0 8 * * 1-5'), 'every 2h', 'in 30m', '2026-12-24T09:00'. The prompt must stand alone; "
    "an answer of exactly [SILENT] delivers nothing.",
    {
        "type": "object",
        "properties": {
            "action": {"type": "string", "enum": list(ACTIONS)},
            "schedule": {"type": "string"},
            "prompt": {"type": "string"},
            "name": {"type": "string"},
            "deliver": {
                "type": "string",
                "description": "web, telegram:<chat id> or webhook:<name>; default: here.",
            },
            "job_id": {"type": "string"},
        },
        "required": ["action"],
    },
    cronjob,
)
