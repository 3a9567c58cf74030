"""Scheduled jobs in a few lines, for `hermes cron`, `/cron` and the `cronjob` tool.

Markdown-ish: names are bold (`**`), which the chat gateway renders and the terminal strips.
Times are shown on the wall clock of each job's time zone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hermes_cron import jobs
from hermes_cron.schedule import zone

if TYPE_CHECKING:
    from hermes_state import SessionDB

NONE = "No scheduled jobs."
RUNS_SHOWN = 5


def jobs_text(db: SessionDB) -> str:
    """Every job: its id, name and schedule in words; when it runs next; how it last went."""
    listed = db.cron_jobs()
    if not listed:
        return NONE
    lines = ["**Scheduled jobs**"]
    for job in listed:
        shown = jobs.public(job)
        lines.append(f"**{job['id']}** {job['name']} · {shown['description']}")
        lines.append(
            f"    next: {next_run(job)} · last: {job['last_status'] or 'not run yet'}"
            f" · to {job['deliver']}"
        )
    return "\n".join(lines)


def job_text(job: dict[str, Any], runs: list[dict[str, Any]]) -> str:
    """One job in full, and its latest `runs` (newest first, as `SessionDB.cron_runs` gives)."""
    shown = jobs.public(job)
    lines = [
        f"**{job['name']}** ({job['id']})",
        f"Schedule: {job['schedule']} · {shown['description']}",
        f"Next run: {next_run(job)}",
        f"Delivers to: {job['deliver']}",
        f"Skills: {', '.join(job['skills']) or '(none)'}",
        f"Model: {job['model'] or '(the default)'}",
        f"Workspace: {job['workspace'] or '(the default)'}",
        f"May schedule jobs: {'yes' if job['may_schedule'] else 'no'}",
        f"Created: {when(job['created_at'], job['timezone'])} from {job['origin'] or 'unknown'}",
        f"Last status: {job['last_status'] or 'not run yet'}",
        "",
        "**Prompt**",
        job["prompt"],
        "",
        "**Last runs**",
    ]
    lines += [run_line(run, job["timezone"]) for run in runs[:RUNS_SHOWN]] or ["(none yet)"]
    return "\n".join(lines)


def run_line(run: dict[str, Any], timezone: str) -> str:
    """A run: when it started, how it ended, and where its answer went or why it failed."""
    line = f"{when(run['started_at'] or run['slot'], timezone)}  {run['status']}"
    if run.get("trigger") == "manual":
        line += " (run by hand)"
    if run["error"]:
        line += f": {run['error']}"
    elif (run["delivered"] or "").startswith("failed"):
        line += f", not delivered ({run['delivered']})"
    elif run["delivered"]:
        line += f", delivered to {run['delivered']}"
    return line


def next_run(job: dict[str, Any]) -> str:
    if job["paused"]:
        return "paused"
    if job["next_run_at"] is None:
        return "done"
    return when(job["next_run_at"], job["timezone"])


def when(moment: float | None, timezone: str) -> str:
    if not moment:
        return "-"
    return (
        datetime.fromtimestamp(moment, UTC).astimezone(zone(timezone)).strftime("%Y-%m-%d %H:%M %Z")
    )
