"""Scheduled jobs as every surface creates, changes and shows them.

A job: a prompt, a schedule (see `schedule`), where its answer goes (`deliver`), optional
skills, a model and a workspace. Everything is checked here, once, for the CLI, the web API,
`/cron` and the `cronjob` tool alike; a mistake is a BadRequest that says how to write it.

Delivery targets: `web` (the run's conversation, under "Scheduled" in the web UI, with a
browser notification when a page is open), `telegram:<chat id>` (the gateway's bot), and
`webhook:<name>` (a signed POST to that hook's `callback_url`).
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hermes_agent.errors import BadRequest, NotFound
from hermes_cron.schedule import Schedule, parse, restore, zone

if TYPE_CHECKING:
    from hermes_state import SessionDB

MAX_PROMPT = 20_000
MAX_NAME = 80
_DELIVER = re.compile(r"web|telegram:-?\d{1,20}|webhook:[A-Za-z0-9_-]{1,64}")
_SKILL = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_ID = re.compile(r"[0-9a-f]{1,12}")


def new_job_id() -> str:
    return secrets.token_hex(6)


def create(
    db: SessionDB,
    *,
    schedule: str,
    prompt: str,
    timezone: str,
    now: float,
    name: str | None = None,
    deliver: str = "web",
    skills: list[str] | tuple[str, ...] = (),
    model: str | None = None,
    workspace: str | None = None,
    origin: str = "cli",
    may_schedule: bool = False,
) -> dict[str, Any]:
    timed = _schedule_fields(schedule, timezone, now)
    job = db.cron_create_job(
        new_job_id(),
        now,
        prompt=_prompt(prompt),  # first: an empty prompt is the mistake to report
        name=_name(name, prompt),
        **timed,
        deliver=checked_target(deliver),
        skills=_skills(skills),
        model=(model or "").strip() or None,
        workspace=(workspace or "").strip() or None,
        origin=origin,
        may_schedule=may_schedule,
    )
    return job


def edit(db: SessionDB, job_id: str, now: float, **changes: Any) -> dict[str, Any]:
    """Change a job's fields; a new schedule or time zone starts counting from `now`."""
    job = existing(db, job_id)
    fields: dict[str, Any] = {}
    if changes.get("prompt") is not None:
        fields["prompt"] = _prompt(changes["prompt"])
    if changes.get("name") is not None:
        fields["name"] = _name(changes["name"], job["prompt"])
    if changes.get("deliver") is not None:
        fields["deliver"] = checked_target(changes["deliver"])
    if changes.get("skills") is not None:
        fields["skills"] = _skills(changes["skills"])
    for key in ("model", "workspace"):
        if changes.get(key) is not None:
            fields[key] = changes[key].strip() or None
    if changes.get("may_schedule") is not None:
        fields["may_schedule"] = bool(changes["may_schedule"])
    if changes.get("schedule") is not None or changes.get("timezone") is not None:
        schedule = changes.get("schedule") or job["schedule"]
        fields |= _schedule_fields(schedule, changes.get("timezone") or job["timezone"], now)
    db.cron_update_job(job["id"], now, **fields)
    return existing(db, job["id"])


def set_paused(db: SessionDB, job_id: str, paused: bool, now: float) -> dict[str, Any]:
    """Pause, or resume from the next slot after `now` (slots missed while paused are not run)."""
    job = existing(db, job_id)
    fields: dict[str, Any] = {"paused": paused}
    if not paused:
        fields["next_run_at"] = next_slot(job, now)
    db.cron_update_job(job["id"], now, **fields)
    return existing(db, job["id"])


def remove(db: SessionDB, job_id: str) -> None:
    db.cron_delete_job(existing(db, job_id)["id"])


def existing(db: SessionDB, job_id: str) -> dict[str, Any]:
    """The job with this id (or a unique prefix of it, or its exact name)."""
    key = str(job_id or "").strip()
    if not key:
        raise BadRequest("a job id is required")
    job = db.cron_job(key) if _ID.fullmatch(key) else None
    if job is not None:
        return job
    jobs = db.cron_jobs()
    matches = [j for j in jobs if j["id"].startswith(key) or j["name"] == key]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise BadRequest(f"{key!r} names {len(matches)} jobs; give more of the id")
    raise NotFound(f"there is no scheduled job {key!r}")


def schedule_of(job: dict[str, Any]) -> Schedule:
    created = datetime.fromtimestamp(job["created_at"], UTC)
    at = datetime.fromtimestamp(job["run_at"], UTC) if job["run_at"] is not None else None
    return restore(job["schedule_kind"], job["schedule"], zone(job["timezone"]), created, at)


def next_slot(job: dict[str, Any], after: float) -> float | None:
    """The job's first slot strictly after `after` (epoch seconds), or None."""
    upcoming = schedule_of(job).next_after(
        datetime.fromtimestamp(after, UTC), zone(job["timezone"])
    )
    return upcoming.timestamp() if upcoming else None


def public(job: dict[str, Any], last_run: dict[str, Any] | None = None) -> dict[str, Any]:
    """A job as the surfaces show it: with its schedule in words and times in its zone."""
    tz = zone(job["timezone"])
    shown = {k: v for k, v in job.items() if k != "run_at"}
    shown["description"] = schedule_of(job).describe(tz)
    shown["next_run"] = _local(job["next_run_at"], tz)
    shown["last_run"] = last_run
    return shown


def preview(schedule: str, timezone: str, now: float, count: int = 3) -> dict[str, Any]:
    """What a schedule means, before it is saved: in words, and its next slots."""
    tz = zone(timezone)
    created = datetime.fromtimestamp(now, UTC)
    parsed = parse(schedule, tz, created)
    slots, after = [], created
    while len(slots) < count:
        upcoming = parsed.next_after(after, tz)
        if upcoming is None:
            break
        slots.append(upcoming.astimezone(tz).isoformat())
        after = upcoming
    return {"schedule": parsed.text, "description": parsed.describe(tz), "next": slots}


def _schedule_fields(schedule: str, timezone: str, now: float) -> dict[str, Any]:
    """A schedule as the store keeps it, counted from `now`, with its first slot."""
    tz = zone(timezone)
    created = datetime.fromtimestamp(now, UTC)
    parsed = parse(schedule, tz, created)
    first = parsed.next_after(created, tz)
    if first is None:
        raise BadRequest("that moment has passed; give a time in the future")
    return {
        "schedule": parsed.text,
        "schedule_kind": parsed.kind,
        "run_at": parsed.at.timestamp() if parsed.at else None,
        "timezone": tz.key,
        "next_run_at": first.timestamp(),
    }


def checked_target(deliver: str) -> str:
    target = str(deliver or "").strip()
    if not _DELIVER.fullmatch(target):
        raise BadRequest(
            f"{target!r} is not a delivery target: use web, telegram:<chat id> or webhook:<name>"
        )
    return target


def _local(moment: float | None, tz: Any) -> str | None:
    return datetime.fromtimestamp(moment, UTC).astimezone(tz).isoformat() if moment else None


def _prompt(prompt: str) -> str:
    text = str(prompt or "").strip()
    if not text:
        raise BadRequest("the prompt is empty")
    if len(text) > MAX_PROMPT:
        raise BadRequest(f"the prompt is longer than {MAX_PROMPT:,} characters")
    return text


def _name(name: str | None, prompt: str) -> str:
    text = " ".join(str(name or "").split()) or " ".join(str(prompt).split())[:40]
    if not text:
        raise BadRequest("the name is empty")
    return text[:MAX_NAME]


def _skills(skills: list[str] | tuple[str, ...]) -> list[str]:
    names = [str(s).strip() for s in skills if str(s).strip()]
    bad = [s for s in names if not _SKILL.fullmatch(s)]
    if bad:
        raise BadRequest(f"not skill names: {', '.join(bad)}")
    return names
