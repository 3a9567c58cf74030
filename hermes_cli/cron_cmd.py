"""`hermes cron add|list|show|pause|resume|edit|remove|run`: scheduled jobs.

Jobs live in state.db; `hermes web` and `hermes gateway` run them (see hermes_cron). `add`
prints only the new job's id on stdout, so a script can keep it; what it says besides goes to
stderr. `run` runs a job here and now, waits for it, prints its answer and exits 1 when the
run failed. A job is named by its id, a unique prefix of it, or its exact name.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hermes_state import SessionDB

SCHEDULES = (
    "a cron expression ('0 8 * * 1-5'), an interval ('every 2h'), a delay ('in 30m') or a "
    "date and time ('2026-12-24T09:00')"
)
TARGETS = "web, telegram:CHAT_ID or webhook:NAME"


def add_parser(commands: argparse._SubParsersAction) -> None:
    cron = commands.add_parser(
        "cron",
        help="add, list, change and run scheduled jobs",
        description="Scheduled jobs: a prompt run on a schedule as a fresh conversation, its "
        "answer delivered to the web UI, a Telegram chat or a webhook. hermes web and hermes "
        "gateway run them.",
    )
    actions = cron.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser(
        "add",
        help="schedule a prompt; prints the new job's id",
        description=f"SCHEDULE is {SCHEDULES}, in the time zone setting unless --timezone.",
    )
    add.add_argument("schedule")
    add.add_argument("prompt")
    _job_options(add)
    add.add_argument(
        "--may-schedule", action="store_true", help="let its runs schedule further jobs"
    )
    add.set_defaults(run=_add)
    listing = actions.add_parser("list", help="every job, when it runs next, how it last went")
    listing.set_defaults(run=_list)
    show = actions.add_parser("show", help="a job in full, and its last runs")
    show.add_argument("job_id", metavar="ID")
    show.set_defaults(run=_show)
    for action, paused in (("pause", True), ("resume", False)):
        switch = actions.add_parser(
            action,
            help="stop running a job (it is kept)"
            if paused
            else "run a paused job again, from its next slot",
        )
        switch.add_argument("job_id", metavar="ID")
        switch.set_defaults(run=_switch, paused=paused)
    edit = actions.add_parser(
        "edit",
        help="change a job (an empty value clears --model, --workspace and --skill)",
        description="Only what is given changes; a new schedule or time zone counts from now.",
    )
    edit.add_argument("job_id", metavar="ID")
    edit.add_argument("--schedule", help=SCHEDULES)
    edit.add_argument("--prompt")
    _job_options(edit)
    edit.set_defaults(run=_edit)
    remove = actions.add_parser("remove", help="delete a job (its past runs' conversations stay)")
    remove.add_argument("job_id", metavar="ID")
    remove.set_defaults(run=_remove)
    run = actions.add_parser(
        "run", help="run a job now and print its answer (exit 1 when the run fails)"
    )
    run.add_argument("job_id", metavar="ID")
    run.set_defaults(run=_run)


def _job_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", help="a short name (by default the prompt's start)")
    parser.add_argument("--deliver", metavar="TARGET", help=f"{TARGETS} (default web)")
    parser.add_argument(
        "--skill", action="append", dest="skills", metavar="SKILL", help="a skill to load"
    )
    parser.add_argument("--model", help="the model for its runs (default: the model setting)")
    parser.add_argument("--workspace", metavar="DIR", help="the directory its runs work in")
    parser.add_argument("--timezone", metavar="TZ", help="an IANA zone, like Europe/Lisbon")


def _db() -> SessionDB:
    from hermes_agent.errors import StoreError
    from hermes_agent.runtime import state_db

    db = state_db()
    if db is None:
        raise StoreError("state.db is unavailable, so scheduled jobs cannot be read or changed")
    return db


def _add(args: argparse.Namespace) -> int:
    from hermes_agent.runtime import current_settings
    from hermes_cron import jobs
    from hermes_cron.summary import next_run

    job = jobs.create(
        _db(),
        schedule=args.schedule,
        prompt=args.prompt,
        timezone=args.timezone or current_settings().timezone,
        now=time.time(),
        name=args.name,
        deliver=args.deliver or "web",
        skills=args.skills or (),
        model=args.model,
        workspace=args.workspace,
        origin="cli",
        may_schedule=args.may_schedule,
    )
    print(job["id"])
    shown = jobs.public(job)
    print(
        f"Scheduled {job['name']}: {shown['description']}; next run {next_run(job)}.",
        file=sys.stderr,
    )
    _warn_if_undeliverable(job)
    return 0


def _warn_if_undeliverable(job: dict) -> None:
    from hermes_cron.delivery import problem_with

    problem = problem_with(job["deliver"])
    if problem:
        print(
            f"hermes: warning: answers cannot reach {job['deliver']} yet: {problem}.",
            file=sys.stderr,
        )


def _list(_args: argparse.Namespace) -> int:
    from hermes_cron.summary import jobs_text

    print(_plain(jobs_text(_db())))
    return 0


def _show(args: argparse.Namespace) -> int:
    from hermes_cron import jobs
    from hermes_cron.summary import job_text

    db = _db()
    job = jobs.existing(db, args.job_id)
    print(_plain(job_text(job, db.cron_runs(job["id"]))))
    return 0


def _switch(args: argparse.Namespace) -> int:
    from hermes_cron import jobs
    from hermes_cron.summary import next_run

    job = jobs.set_paused(_db(), args.job_id, args.paused, time.time())
    if job["paused"]:
        print(f"Paused {job['name']} ({job['id']}).")
    else:
        print(f"Resumed {job['name']} ({job['id']}); next run {next_run(job)}.")
    return 0


def _edit(args: argparse.Namespace) -> int:
    from hermes_cron import jobs
    from hermes_cron.summary import next_run

    changes = {
        key: getattr(args, key)
        for key in ("schedule", "prompt", "name", "deliver", "skills", "model", "workspace")
    }
    changes["timezone"] = args.timezone
    if all(value is None for value in changes.values()):
        from hermes_agent.errors import BadRequest

        raise BadRequest("nothing to change: give --schedule, --prompt, --name or another option")
    job = jobs.edit(_db(), args.job_id, time.time(), **changes)
    shown = jobs.public(job)
    print(f"Changed {job['name']} ({job['id']}): {shown['description']}; next run {next_run(job)}.")
    _warn_if_undeliverable(job)
    return 0


def _remove(args: argparse.Namespace) -> int:
    from hermes_cron import jobs

    db = _db()
    job = jobs.existing(db, args.job_id)
    jobs.remove(db, job["id"])
    print(f"Removed {job['name']} ({job['id']}).")
    return 0


def _run(args: argparse.Namespace) -> int:
    from hermes_agent.errors import StoreError
    from hermes_cron import jobs, service

    db = _db()
    job = jobs.existing(db, args.job_id)
    print(f"Running {job['name']} ({job['id']})…", file=sys.stderr)
    run = db.cron_run(service.run_now(job, wait=True))
    if run is None:
        raise StoreError("the run was not recorded")
    if run["result"]:
        print(run["result"])
    if run["status"] == "failed":
        print(f"hermes: the run failed: {run['error'] or 'no reason given'}", file=sys.stderr)
        return 1
    if run["delivered"]:
        print(f"Delivery: {run['delivered']}.", file=sys.stderr)
    return 0


def _plain(text: str) -> str:
    """The summaries' bold marks are for chat apps; a terminal shows the words."""
    return text.replace("**", "")
