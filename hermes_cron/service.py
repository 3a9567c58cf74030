"""The process's scheduler: started by `hermes web` and `hermes gateway`, stopped with them.

Also "run now", for the surfaces that ask for a run by hand: it runs in the asking process
(the CLI waits for it; the web server runs it in the background), as its own run.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from hermes_cron.lease import Lease, runner_name
from hermes_cron.runner import Scheduler

log = logging.getLogger(__name__)

_scheduler: Scheduler | None = None
_lock = threading.Lock()


def start_scheduler() -> Scheduler | None:
    """Start this process's scheduler (once), unless `cron` is off or the store is down."""
    global _scheduler
    from hermes_agent.runtime import current_settings, state_db
    from hermes_agent.settings import hermes_home

    with _lock:
        if _scheduler is not None or not current_settings().cron:
            return _scheduler
        db = state_db()
        if db is None:
            log.warning("scheduled jobs will not run: the store is unavailable")
            return None
        lease = Lease(hermes_home() / "cron" / "scheduler.lock")
        _scheduler = Scheduler(db, current_settings, lease)
        _scheduler.start()
        return _scheduler


def stop_scheduler() -> None:
    global _scheduler
    with _lock:
        scheduler, _scheduler = _scheduler, None
    if scheduler is not None:
        scheduler.stop()


def poke() -> None:
    """A job was added or changed here: let the scheduler look again now."""
    if _scheduler is not None:
        _scheduler.poke()


def run_now(job: dict[str, Any], *, wait: bool) -> int:
    """Run `job` now, outside its schedule; the run's id (with `wait`, once it has ended)."""
    import time

    from hermes_agent.runtime import current_settings, state_db
    from hermes_cron.execute import run_job

    db = state_db()
    if db is None:
        from hermes_agent.errors import StoreError

        raise StoreError("the store is unavailable, so the job cannot run")
    run_id = db.cron_start_now(job["id"], runner_name(), time.time())
    work = threading.Thread(
        target=run_job,
        args=(db, current_settings(), job, run_id),
        name="cron-run-now",
        daemon=True,  # a run cut off by the exit is marked failed by the next scheduler
    )
    work.start()
    if wait:
        work.join()
    return run_id
