"""The scheduler of a long-running process: take the lease, then run each slot as it comes.

Every `hermes web` and `hermes gateway` starts one; only the holder of the lease (see
`lease`) runs jobs, the others try again every `LEASE_RETRY` seconds. The holder first marks
failed the runs a dead holder left `running` (they are not run again), then loops: claim every
due slot (`SessionDB.cron_claim`: exactly once per slot across processes and restarts), start
its run (at most `cron_max_concurrent` go at once, the others wait their turn), and sleep
until the next slot, or at most `POLL` seconds so jobs another process added are seen. Between
slots it only reads.

A slot found more than `MISSED_AFTER` seconds late (the machine was off, or no process was
running jobs) is missed: with `cron_missed: run_once` (the default) it runs once, late, and
the job moves on to its next slot after now; with `skip` it is recorded as skipped. A job
whose previous run is still going waits for it rather than running twice at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hermes_agent.errors import HermesError
from hermes_cron import jobs
from hermes_cron.clock import Clock, clock_from_env
from hermes_cron.lease import Lease, runner_alive

if TYPE_CHECKING:
    from hermes_agent.settings import Settings
    from hermes_state import SessionDB

log = logging.getLogger(__name__)

LEASE_RETRY = 5.0
POLL = 30.0
MISSED_AFTER = 120.0

# (job, run id) -> the run's status; `hermes_cron.execute.run_job` in production
Execute = Callable[[dict[str, Any], int], str]


class Scheduler:
    def __init__(
        self,
        db: SessionDB,
        settings: Callable[[], Settings],
        lease: Lease,
        *,
        execute: Execute | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.lease = lease
        self.clock = clock or clock_from_env()
        self._execute = execute or self._run_job
        # Runs are daemon threads taking turns at this gate: a run never holds up the exit of
        # its process (one cut off is marked failed by the next holder of the lease).
        self._turns = threading.BoundedSemaphore(settings().cron_max_concurrent)
        self._running: set[str] = set()  # job ids with a run in this process
        self._mutex = threading.Condition()
        self._held_back = False  # a due job waits for its previous run to end
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    # -- the loop --------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="cron-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop claiming and let go of the lease; runs in progress go on while the process does."""
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)
        self.lease.release()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no run of this scheduler is going; False after `timeout`."""
        with self._mutex:
            return self._mutex.wait_for(lambda: not self._running, timeout)

    def poke(self) -> None:
        """Look at the jobs now (one was added or changed in this process)."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stopping:
            try:
                delay = self._pass()
            except Exception:  # a store that fails now may work at the next try
                log.exception("the scheduler could not read its jobs")
                delay = POLL
            self.clock.sleep(delay, self._wake)
            self._wake.clear()

    def _pass(self) -> float:
        """Take the lease if free, run what is due; how long to sleep before the next pass.
        A job held back by its own run wakes the loop when that run ends, not before."""
        if not self.lease.held and not self._take_lease():
            return LEASE_RETRY
        self.tick()
        wake = self.db.cron_next_wake()
        if wake is None or self._held_back:
            return POLL
        return min(POLL, max(0.0, wake - self.clock.now()))

    def _take_lease(self) -> bool:
        if not self.lease.try_take():
            return False
        now = self.clock.now()
        self.db.cron_take_lease(self.lease.holder, os.getpid(), socket.gethostname(), now)
        failed = self.db.cron_fail_interrupted(runner_alive, now)
        if failed:
            log.warning("marked %d scheduled run(s) failed: their process stopped", len(failed))
        log.info("this process now runs the scheduled jobs (%s)", self.lease.holder)
        return True

    # -- one pass ----------------------------------------------------------------------------
    def tick(self) -> list[int]:
        """Claim every due slot and start its run; the ids of the runs started."""
        now = self.clock.now()
        started = []
        due = self.db.cron_due(now)
        self._held_back = False
        if due:
            self.db.cron_heartbeat(self.lease.holder, now)
        for job in due:
            with self._mutex:
                if job["id"] in self._running:
                    self._held_back = True
                    continue
            run_id = self._claim(job, now)
            if run_id is not None:
                started.append(run_id)
                self._submit(job, run_id)
        return started

    def _claim(self, job: dict[str, Any], now: float) -> int | None:
        slot = job["next_run_at"]
        following = jobs.next_slot(job, max(slot, now))
        if now - slot > MISSED_AFTER and self.settings().cron_missed == "skip":
            self.db.cron_skip(job["id"], slot, following, now)
            return None
        return self.db.cron_claim(job["id"], slot, following, self.lease.holder, now)

    def _submit(self, job: dict[str, Any], run_id: int) -> None:
        with self._mutex:
            self._running.add(job["id"])

        def work() -> None:
            try:
                with self._turns:
                    self._execute(job, run_id)
            except Exception:  # recorded as failed (if the store still can); the scheduler goes on
                log.exception("scheduled job %s crashed", job["id"])
                with contextlib.suppress(HermesError, OSError):
                    self.db.cron_finish(run_id, "failed", self.clock.now(), error="the run crashed")
            finally:
                with self._mutex:
                    self._running.discard(job["id"])
                    self._mutex.notify_all()
                self._wake.set()

        threading.Thread(target=work, name=f"cron-run-{run_id}", daemon=True).start()

    def _run_job(self, job: dict[str, Any], run_id: int) -> str:
        from hermes_cron.execute import run_job

        return run_job(self.db, self.settings(), job, run_id)
