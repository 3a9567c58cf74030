"""SessionDB's scheduled jobs: the jobs, their runs, and the lease of the process that runs them.

A run is claimed before it starts: one transaction checks that the job's `next_run_at` is
still the slot being claimed, inserts the run (unique per job and slot) and moves
`next_run_at` on. Whoever loses that race (another process, or this one after a restart)
finds the slot taken and runs nothing, so no slot runs twice. A run left `running` by a
process that died is marked `failed` by the next holder of the lease, never run again.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

JOB_FIELDS = (
    "name",
    "prompt",
    "schedule",
    "schedule_kind",
    "run_at",
    "timezone",
    "deliver",
    "skills",
    "model",
    "workspace",
    "paused",
    "may_schedule",
    "origin",
    "next_run_at",
)
LEASE = "scheduler"
INTERRUPTED = "interrupted: the process running it stopped before it finished"


def _job(row: sqlite3.Row | None) -> dict[str, Any] | None:
    if row is None:
        return None
    job = dict(row)
    job["skills"] = json.loads(job["skills"] or "[]")
    job["paused"] = bool(job["paused"])
    job["may_schedule"] = bool(job["may_schedule"])
    return job


def _stored(fields: dict[str, Any]) -> dict[str, Any]:
    out = dict(fields)
    if "skills" in out:
        out["skills"] = json.dumps(list(out["skills"]))
    return out


class CronMixin:
    """The `cron_*` methods of SessionDB (see the module's docstring)."""

    _execute_write: Callable
    _read: Callable

    # -- jobs ----------------------------------------------------------------------------------
    def cron_create_job(self, job_id: str, now: float, **fields: Any) -> dict[str, Any]:
        values = _stored({k: fields.get(k) for k in JOB_FIELDS if k in fields})
        columns = ["id", "created_at", "updated_at", *values]
        marks = ", ".join("?" * len(columns))

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                f"INSERT INTO cron_jobs ({', '.join(columns)}) VALUES ({marks})",
                (job_id, now, now, *values.values()),
            )

        self._execute_write(write)
        job = self.cron_job(job_id)
        assert job is not None
        return job

    def cron_update_job(self, job_id: str, now: float, **fields: Any) -> bool:
        values = _stored({k: v for k, v in fields.items() if k in JOB_FIELDS})
        if not values:
            return self.cron_job(job_id) is not None
        sets = ", ".join(f"{k} = ?" for k in values)
        return bool(
            self._execute_write(
                lambda conn: (
                    conn.execute(
                        f"UPDATE cron_jobs SET {sets}, updated_at = ? WHERE id = ?",
                        (*values.values(), now, job_id),
                    ).rowcount
                )
            )
        )

    def cron_delete_job(self, job_id: str) -> bool:
        def write(conn: sqlite3.Connection) -> bool:
            conn.execute("DELETE FROM cron_runs WHERE job_id = ?", (job_id,))
            return bool(conn.execute("DELETE FROM cron_jobs WHERE id = ?", (job_id,)).rowcount)

        return self._execute_write(write)

    def cron_job(self, job_id: str) -> dict[str, Any] | None:
        return _job(
            self._read(
                lambda conn: conn.execute(
                    "SELECT * FROM cron_jobs WHERE id = ?", (job_id,)
                ).fetchone()
            )
        )

    def cron_jobs(self) -> list[dict[str, Any]]:
        rows = self._read(
            lambda conn: conn.execute("SELECT * FROM cron_jobs ORDER BY created_at").fetchall()
        )
        return [_job(row) for row in rows]

    def cron_due(self, now: float) -> list[dict[str, Any]]:
        """Active jobs whose next slot has come, the longest waiting first."""
        rows = self._read(
            lambda conn: conn.execute(
                "SELECT * FROM cron_jobs WHERE paused = 0 AND next_run_at IS NOT NULL "
                "AND next_run_at <= ? ORDER BY next_run_at",
                (now,),
            ).fetchall()
        )
        return [_job(row) for row in rows]

    def cron_next_wake(self) -> float | None:
        """The earliest slot of any active job: when the runner must wake next."""
        row = self._read(
            lambda conn: conn.execute(
                "SELECT MIN(next_run_at) FROM cron_jobs WHERE paused = 0"
            ).fetchone()
        )
        return row[0]

    # -- runs ----------------------------------------------------------------------------------
    def cron_claim(
        self, job_id: str, slot: float, next_run_at: float | None, runner: str, now: float
    ) -> int | None:
        """Claim the job's slot `slot` for `runner`: its run's id, or None when the slot is no
        longer the job's next one (claimed elsewhere, or the job changed)."""

        def write(conn: sqlite3.Connection) -> int | None:
            moved = conn.execute(
                "UPDATE cron_jobs SET next_run_at = ?, last_run_at = ? "
                "WHERE id = ? AND next_run_at = ? AND paused = 0",
                (next_run_at, slot, job_id, slot),
            ).rowcount
            if not moved:
                return None
            return conn.execute(
                "INSERT OR IGNORE INTO cron_runs (job_id, slot, status, runner, started_at) "
                "VALUES (?, ?, 'running', ?, ?)",
                (job_id, slot, runner, now),
            ).lastrowid

        return self._execute_write(write)

    def cron_skip(self, job_id: str, slot: float, next_run_at: float | None, now: float) -> bool:
        """Record a missed slot as skipped and move on, as `cron_claim` would."""

        def write(conn: sqlite3.Connection) -> bool:
            moved = conn.execute(
                "UPDATE cron_jobs SET next_run_at = ? WHERE id = ? AND next_run_at = ?",
                (next_run_at, job_id, slot),
            ).rowcount
            if moved:
                conn.execute(
                    "INSERT OR IGNORE INTO cron_runs (job_id, slot, status, started_at, "
                    "finished_at, error) VALUES (?, ?, 'skipped', ?, ?, ?)",
                    (job_id, slot, now, now, "missed while no process was running jobs"),
                )
            return bool(moved)

        return self._execute_write(write)

    def cron_start_now(self, job_id: str, runner: str, now: float) -> int:
        """A run asked for by hand: its own slot (the moment asked), schedule untouched."""
        return self._execute_write(
            lambda conn: (
                conn.execute(
                    "INSERT INTO cron_runs (job_id, slot, status, trigger, runner, started_at) "
                    "VALUES (?, ?, 'running', 'manual', ?, ?)",
                    (job_id, now, runner, now),
                ).lastrowid
            )
        )

    def cron_set_run_session(self, run_id: int, session_id: str) -> None:
        self._execute_write(
            lambda conn: conn.execute(
                "UPDATE cron_runs SET session_id = ? WHERE id = ?", (session_id, run_id)
            )
        )

    def cron_finish(
        self,
        run_id: int,
        status: str,
        now: float,
        *,
        result: str | None = None,
        error: str | None = None,
        delivered: str | None = None,
    ) -> None:
        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE cron_runs SET status = ?, finished_at = ?, result = ?, error = ?, "
                "delivered = ? WHERE id = ?",
                (status, now, result, error, delivered, run_id),
            )
            conn.execute(
                "UPDATE cron_jobs SET last_status = ? WHERE id = "
                "(SELECT job_id FROM cron_runs WHERE id = ?)",
                (status, run_id),
            )

        self._execute_write(write)

    def cron_run(self, run_id: int) -> dict[str, Any] | None:
        row = self._read(
            lambda conn: conn.execute("SELECT * FROM cron_runs WHERE id = ?", (run_id,)).fetchone()
        )
        return dict(row) if row else None

    def cron_runs(
        self, job_id: str | None = None, limit: int = 50, finished_after: float | None = None
    ) -> list[dict[str, Any]]:
        """The latest runs (of one job, or of all; only those finished after `finished_after`
        when given), newest first."""
        conditions, params = [], []
        if job_id:
            conditions.append("job_id = ?")
            params.append(job_id)
        if finished_after is not None:
            conditions.append("finished_at > ?")
            params.append(finished_after)
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        rows = self._read(
            lambda conn: conn.execute(
                f"SELECT * FROM cron_runs {where} ORDER BY started_at DESC, id DESC LIMIT ?",
                (*params, limit),
            ).fetchall()
        )
        return [dict(row) for row in rows]

    def cron_fail_interrupted(self, alive: Callable[[str], bool], now: float) -> list[int]:
        """Mark failed the runs left `running` by runners that are gone; their ids."""
        running = self._read(
            lambda conn: conn.execute(
                "SELECT id, runner FROM cron_runs WHERE status = 'running'"
            ).fetchall()
        )
        dead = [row["id"] for row in running if not alive(row["runner"] or "")]
        for run_id in dead:
            self.cron_finish(run_id, "failed", now, error=INTERRUPTED)
        return dead

    # -- the lease -----------------------------------------------------------------------------
    def cron_take_lease(self, holder: str, pid: int, host: str, now: float) -> None:
        self._execute_write(
            lambda conn: conn.execute(
                "INSERT OR REPLACE INTO cron_lease (name, holder, pid, host, acquired_at, "
                "heartbeat_at) VALUES (?, ?, ?, ?, ?, ?)",
                (LEASE, holder, pid, host, now, now),
            )
        )

    def cron_heartbeat(self, holder: str, now: float) -> None:
        self._execute_write(
            lambda conn: conn.execute(
                "UPDATE cron_lease SET heartbeat_at = ? WHERE name = ? AND holder = ?",
                (now, LEASE, holder),
            )
        )

    def cron_lease(self) -> dict[str, Any] | None:
        row = self._read(
            lambda conn: conn.execute(
                "SELECT * FROM cron_lease WHERE name = ?", (LEASE,)
            ).fetchone()
        )
        return dict(row) if row else None
