"""Scheduled-job figures, printed as JSON.

    .venv/bin/python bench/cron.py [--quick]

- `idle_scheduler_cpu_percent`: the scheduler alone, holding its lease with 100 jobs whose
  next slots are an hour away, for 30 s (10 with --quick): its process's CPU time over that
  wall time.
- `idle_disk_writes_bytes`, `idle_server_cpu_percent`: the same in a real `hermes web`: the
  bytes it wrote meanwhile (/proc/<pid>/io `write_bytes`; state.db and its WAL unchanged), and
  the whole server's CPU (the web server's own idle work included).
- `fire_100_all_started_s`, `fire_100_peak_concurrent`: 100 jobs due in the same minute in
  a server whose clock is a file the benchmark moves, each a real run (a conversation with
  the scripted provider, recorded in state.db): the time from the slot until the last run
  started, and the most runs at once against `cron_max_concurrent` (4).
- `sidebar_with_100_runs_ms`: then `GET /api/sessions` (the sidebar's list, the 100 runs'
  conversations under "Scheduled" included), median of 50 on a keep-alive connection.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

# First: puts the repository on sys.path and sets HERMES_HOME for the imports below.
import common  # noqa: F401

# isort: split
import psutil
from common import Client, median_ms

from hermes_cron import jobs
from hermes_cron.clock import FileClock, SystemClock
from hermes_cron.lease import Lease
from hermes_cron.runner import Scheduler
from hermes_state import SessionDB
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.support import ServerProcess, fake_provider_env

TARGETS = {
    "idle_scheduler_cpu_percent": 0.1,
    "idle_disk_writes_bytes": 0,
    "fire_100_all_started_s": 5.0,
}
T0 = 1_796_000_000.0  # a fixed moment; the servers read the time from the clock file
JOBS = 100
LIMIT = 4


def stored_bytes(home: Path) -> tuple[int, ...]:
    return tuple(
        (home / name).stat().st_size if (home / name).exists() else 0
        for name in ("state.db", "state.db-wal")
    )


def real_span(db: SessionDB, session_id: str) -> tuple[float, float]:
    """When a run's conversation began and got its last message, by the real clock."""
    messages = db.get_messages(session_id)
    return db.get_session(session_id)["started_at"], max(m["timestamp"] for m in messages)


def idle(root: Path, llm: FakeOpenAI, watch: float) -> dict[str, float | bool]:
    """A server on the real clock holding the lease, its 100 jobs an hour away: the disk
    writes and CPU of the whole server between slots."""
    home = root / "hermes-home"
    home.mkdir(parents=True)
    db = SessionDB(home / "state.db")
    for n in range(JOBS):
        jobs.create(db, schedule="every 1h", prompt=f"Job {n}", timezone="UTC", now=time.time())
    server = ServerProcess(root, extra_env={**fake_provider_env(llm), "HERMES_HOME": str(home)})
    server.start()
    try:
        while db.cron_lease() is None:
            time.sleep(0.05)
        process = psutil.Process(server.proc.pid)
        time.sleep(2.0)  # start-up done
        cpu, io, files = sum(process.cpu_times()[:2]), process.io_counters(), stored_bytes(home)
        time.sleep(watch)
        return {
            "idle_server_cpu_percent": round(100 * (sum(process.cpu_times()[:2]) - cpu) / watch, 3),
            "idle_disk_writes_bytes": process.io_counters().write_bytes - io.write_bytes,
            "idle_state_db_unchanged": stored_bytes(home) == files,
        }
    finally:
        server.stop()
        db.close()


def idle_scheduler(root: Path, watch: float) -> float:
    """The scheduler alone, in this process (nothing else running): its CPU between slots."""

    class Settings:
        cron_max_concurrent = LIMIT
        cron_missed = "run_once"

    root.mkdir(parents=True)
    db = SessionDB(root / "state.db")
    for n in range(JOBS):
        jobs.create(db, schedule="every 1h", prompt=f"Job {n}", timezone="UTC", now=time.time())
    scheduler = Scheduler(db, lambda: Settings, Lease(root / "scheduler.lock"), clock=SystemClock())
    scheduler.start()
    try:
        time.sleep(1.0)
        cpu = time.process_time()
        time.sleep(watch)
        return round(100 * (time.process_time() - cpu) / watch, 4)
    finally:
        scheduler.stop()
        db.close()


def fire(root: Path, llm: FakeOpenAI) -> dict[str, float]:
    """100 jobs due in the same minute (the clock file moved past their slot at once)."""
    home = root / "hermes-home"
    home.mkdir(parents=True)
    clock = FileClock(root / "clock")
    clock.set(T0)
    db = SessionDB(home / "state.db")
    made = [
        jobs.create(db, schedule="every 1h", prompt=f"Job {n}", timezone="UTC", now=T0)
        for n in range(JOBS)
    ]
    env = {
        **fake_provider_env(llm),
        "HERMES_HOME": str(home),
        "HERMES_CRON_CLOCK": str(clock.path),
        "HERMES_CRON_MAX_CONCURRENT": str(LIMIT),
    }
    server = ServerProcess(root, extra_env=env)
    server.start()
    try:
        while db.cron_lease() is None:
            time.sleep(0.05)
        llm.default = Reply.text("Done.")
        fired = time.time()
        clock.set(T0 + 3600)
        deadline = time.monotonic() + 120
        while True:
            runs = [r for j in made for r in db.cron_runs(j["id"])]
            if len(runs) == JOBS and all(r["status"] != "running" for r in runs):
                break
            assert time.monotonic() < deadline, "the runs did not finish"
            time.sleep(0.1)
        spans = [real_span(db, r["session_id"]) for r in runs]  # the clock file stood still
        client = Client(server.port)
        listed = client.call_json("GET", "/api/sessions")["sessions"]
        assert sum(row.get("source") == "cron" for row in listed) == JOBS, "runs listed"
        sidebar = median_ms(lambda: client.call("GET", "/api/sessions"), 50)
    finally:
        server.stop()
        db.close()
    starts = sorted(start for start, _ in spans)
    return {
        "fire_100_all_started_s": round(starts[-1] - fired, 2),
        "fire_100_peak_concurrent": max(
            sum(1 for s, f in spans if s <= moment < f) for moment, _ in spans
        ),
        "runs_ok": sum(r["status"] == "ok" for r in runs),
        "sidebar_with_100_runs_ms": sidebar,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    watch = 10.0 if parser.parse_args().quick else 30.0
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        # Before the scripted provider starts: its server's polling thread would count here.
        figures = {"idle_scheduler_cpu_percent": idle_scheduler(root / "alone", watch)}
        with FakeOpenAI() as llm:
            figures |= idle(root / "idle", llm, watch) | fire(root / "fire", llm)
    print(json.dumps({"figures": figures, "targets": TARGETS}, indent=2))


if __name__ == "__main__":
    main()
