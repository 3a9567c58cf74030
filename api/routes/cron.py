"""Scheduled jobs from the browser: list, preview a schedule, create, edit, pause, delete, run
now, and the runs (which an open page polls to notify the user of answers).

Every rule about a job is checked once, in `hermes_cron.jobs`, and its reason is the 400. Ids
are a job's exact 12 hex digits here (the CLI also takes a prefix or a name). After a change
that can move a job's next slot, the process's scheduler is told to look again.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Query

from api import replies, workspaces
from api.openapi_extras import errors
from api.responses import NO_STORE, JSONResponse
from api.schemas import CRON_JOB_ID, CronJobPause, CronJobRef, CronJobSave
from hermes_agent.errors import StoreError
from hermes_agent.runtime import current_settings, state_db
from hermes_cron import delivery, jobs, service

router = APIRouter(tags=["scheduled jobs"])

MAX_RUNS = 500
EDITABLE = ("prompt", "name", "deliver", "skills", "model", "workspace", "may_schedule")


class StoreUnavailable(StoreError):
    """state.db could not be opened at start (see `GET /health`): nothing to read or change."""

    status = 503


def _db() -> Any:
    db = state_db()
    if db is None:
        raise StoreUnavailable("the conversation store is unavailable, so jobs cannot be read")
    return db


def _named(db: Any, runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    names = {job["id"]: job["name"] for job in db.cron_jobs()}
    return [{**run, "job_name": names.get(run["job_id"])} for run in runs]


def _shown(db: Any, job: dict[str, Any]) -> dict[str, Any]:
    latest = db.cron_runs(job["id"], limit=1)
    return jobs.public(job, {**latest[0], "job_name": job["name"]} if latest else None)


@router.get(
    "/api/cron/jobs",
    summary="Every scheduled job, with its schedule in words, next run and last run",
    response_model=replies.CronJobList,
    responses=errors(503),
)
def list_jobs() -> JSONResponse:
    db = _db()
    shown = [_shown(db, job) for job in db.cron_jobs()]
    return JSONResponse({"jobs": shown, "timezone": current_settings().timezone}, headers=NO_STORE)


@router.get(
    "/api/cron/runs",
    summary="The latest runs, newest first: of one job, or finished after a moment",
    response_model=replies.CronRunList,
    responses=errors(503),
)
def list_runs(
    job_id: str | None = Query(None, pattern=CRON_JOB_ID, description="Only this job's runs."),
    limit: int = Query(50, ge=1, le=MAX_RUNS),
    since: float | None = Query(
        None, ge=0, le=1e11, description="Only runs finished after this (Unix seconds)."
    ),
) -> JSONResponse:
    db = _db()
    runs = _named(db, db.cron_runs(job_id, limit=limit, finished_after=since))
    return JSONResponse({"runs": runs, "now": time.time()}, headers=NO_STORE)


@router.get(
    "/api/cron/preview",
    summary="What a schedule means before it is saved: in words, and its next three runs",
    response_model=replies.CronPreview,
    responses=errors(400),
)
def preview(
    schedule: str = Query(min_length=1, max_length=200, description="As the form has it."),
    timezone: str | None = Query(None, max_length=64, description="Default: the setting."),
) -> JSONResponse:
    zone = timezone or current_settings().timezone
    return JSONResponse(jobs.preview(schedule, zone, time.time()), headers=NO_STORE)


@router.post(
    "/api/cron/job/save",
    summary="Create a job (no id) or change one",
    response_model=replies.CronJobSaved,
    responses=errors(404, 503),
)
def save(body: CronJobSave) -> JSONResponse:
    db = _db()
    if body.id is None:
        job = jobs.create(
            db,
            schedule=body.schedule,
            prompt=body.prompt,
            timezone=body.timezone or current_settings().timezone,
            now=time.time(),
            name=body.name,
            deliver=body.deliver,
            skills=body.skills,
            model=body.model,
            workspace=_workspace(body.workspace),
            origin="web",
            may_schedule=bool(body.may_schedule),
        )
    else:
        job = jobs.edit(db, body.id, time.time(), **_changes(jobs.existing(db, body.id), body))
    service.poke()
    saved = {"ok": True, "job": _shown(db, job)}
    problem = delivery.problem_with(job["deliver"])
    return JSONResponse({**saved, "warning": problem} if problem else saved)


def _workspace(raw: str | None) -> str | None:
    """A workspace a browser may give a job: the same rule as a conversation's (an existing
    directory under the home or the default workspace, never a system directory)."""
    return str(workspaces.resolve_trusted_workspace(raw)) if raw and raw.strip() else None


def _changes(job: dict[str, Any], body: CronJobSave) -> dict[str, Any]:
    """The edit asked for: the fields sent (those left out stay as they are). The schedule and
    zone count as changed only when they differ from the job's: re-reading an unchanged
    `every 2h` or `in 30m` would move its slots, and an unchanged date already past would be
    refused."""
    changes = {key: getattr(body, key) for key in EDITABLE if key in body.model_fields_set}
    if changes.get("workspace"):
        changes["workspace"] = _workspace(changes["workspace"])
    if " ".join(body.schedule.split()).lower() != job["schedule"]:
        changes["schedule"] = body.schedule
    if body.timezone and body.timezone != job["timezone"]:
        changes["timezone"] = body.timezone
    return changes


@router.post(
    "/api/cron/job/pause",
    summary="Pause a job, or resume it from its next slot after now",
    response_model=replies.CronJobSaved,
    responses=errors(404, 503),
)
def pause(body: CronJobPause) -> JSONResponse:
    db = _db()
    job = jobs.set_paused(db, body.id, body.paused, time.time())
    if not body.paused:
        service.poke()
    return JSONResponse({"ok": True, "job": _shown(db, job)})


@router.post(
    "/api/cron/job/delete",
    summary="Delete a job and its run history (the runs' conversations stay)",
    response_model=replies.Ok,
    responses=errors(404, 503),
)
def delete(body: CronJobRef) -> JSONResponse:
    jobs.remove(_db(), body.id)
    return JSONResponse({"ok": True})


@router.post(
    "/api/cron/job/run",
    summary="Run a job now, in the background, outside its schedule",
    response_model=replies.CronRunStarted,
    responses=errors(404, 503),
)
def run(body: CronJobRef) -> JSONResponse:
    job = jobs.existing(_db(), body.id)
    return JSONResponse({"ok": True, "run_id": service.run_now(job, wait=False)})
