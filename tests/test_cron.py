"""Scheduled jobs without a model: schedules and time zones, and the scheduler's slots claimed
exactly once, on a real state.db, with a clock the test moves."""

from __future__ import annotations

import multiprocessing
import socket
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hermes_agent.errors import BadRequest
from hermes_cron import jobs
from hermes_cron.lease import Lease
from hermes_cron.runner import POLL, Scheduler
from hermes_cron.schedule import parse, zone
from hermes_state import SessionDB

LISBON = zone("Europe/Lisbon")
NEW_YORK = zone("America/New_York")


def at(text: str, tz=UTC) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=tz)


def slots(schedule: str, start: datetime, count: int, tz=LISBON) -> list[str]:
    parsed, found, after = parse(schedule, tz, start), [], start
    for _ in range(count):
        after = parsed.next_after(after, tz)
        if after is None:
            break
        found.append(after.astimezone(tz).isoformat())
    return found


# ── schedules ────────────────────────────────────────────────────────────────────────────
def test_a_cron_expression_is_read_on_the_users_wall_clock():
    assert slots("0 8 * * 1-5", at("2026-12-04T12:00"), 3) == [
        "2026-12-07T08:00:00+00:00",  # Friday noon → Monday
        "2026-12-08T08:00:00+00:00",
        "2026-12-09T08:00:00+00:00",
    ]
    assert slots("0 8 * * *", at("2026-12-04T12:00"), 1, NEW_YORK) == ["2026-12-04T08:00:00-05:00"]


def test_when_the_clocks_go_back_a_repeated_time_runs_once():
    # Lisbon, 25 October 2026: 01:59:59 WEST is followed by 01:00:00 WET.
    assert slots("30 1 * * *", at("2026-10-24T12:00"), 3) == [
        "2026-10-25T01:30:00+01:00",
        "2026-10-26T01:30:00+00:00",
        "2026-10-27T01:30:00+00:00",
    ]


def test_when_the_clocks_go_forward_a_missing_time_runs_at_the_change():
    # Lisbon, 29 March 2026: 00:59:59 WET is followed by 02:00:00 WEST.
    assert slots("30 1 * * *", at("2026-03-28T12:00"), 2) == [
        "2026-03-29T02:00:00+01:00",
        "2026-03-30T01:30:00+01:00",
    ]


def test_an_interval_counts_real_time_across_a_clock_change():
    # Every 12 hours from 18:00 summer time: the wall clock shows 05:00 after the change.
    assert slots("every 12h", at("2026-10-24T18:00", LISBON), 2) == [
        "2026-10-25T05:00:00+00:00",
        "2026-10-25T17:00:00+00:00",
    ]


def test_one_shots_run_once():
    assert slots("in 30m", at("2026-12-04T12:00"), 3) == ["2026-12-04T12:30:00+00:00"]
    assert slots("2026-12-24T09:00", at("2026-12-04T12:00"), 3, NEW_YORK) == [
        "2026-12-24T09:00:00-05:00"
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("every 10s", "at least a minute"),
        ("every 2 parsecs", "not a unit"),
        ("in 0m", "more than zero"),
        ("61 * * * *", "not a cron expression"),
        ("tomorrow-ish", "not a schedule"),
    ],
)
def test_bad_schedules_say_how_to_write_one(text, problem):
    with pytest.raises(BadRequest, match=problem):
        parse(text, LISBON, at("2026-12-04T12:00"))


def test_schedules_read_in_words():
    now = at("2026-12-04T12:00")
    assert parse("0 8 * * 1-5", LISBON, now).describe(LISBON) == (
        "At 08:00, Monday through Friday (Europe/Lisbon)"
    )
    assert parse("every 2 hours", LISBON, now).describe(LISBON) == "Every 2 hours"


# ── the scheduler ────────────────────────────────────────────────────────────────────────
class Clock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment.timestamp()

    def now(self) -> float:
        return self.moment

    def sleep(self, seconds: float, wake: threading.Event) -> None:
        wake.wait(0.01)

    def advance(self, seconds: float) -> None:
        self.moment += seconds


class Settings:
    cron_max_concurrent = 2
    cron_missed = "run_once"


class Recorder:
    """A stand-in for running the job: records the slots, optionally waits on a gate."""

    def __init__(self, db: SessionDB, clock: Clock, gate: threading.Event | None = None):
        self.db, self.clock, self.gate = db, clock, gate
        self.slots: list[float] = []
        self.live = self.peak = 0
        self.lock = threading.Lock()

    def __call__(self, job: dict, run_id: int) -> str:
        with self.lock:
            self.slots.append(self.db.cron_run(run_id)["slot"])
            self.live += 1
            self.peak = max(self.peak, self.live)
        if self.gate is not None:
            self.gate.wait(5)
        with self.lock:
            self.live -= 1
        self.db.cron_finish(run_id, "ok", self.clock.now(), result="done")
        return "ok"


@pytest.fixture
def db(tmp_path) -> SessionDB:
    store = SessionDB(tmp_path / "state.db")
    yield store
    store.close()


def scheduler(db, tmp_path, clock, execute, settings=Settings) -> Scheduler:
    lease = Lease(tmp_path / "cron" / "scheduler.lock")
    assert lease.try_take()
    return Scheduler(db, lambda: settings, lease, execute=execute, clock=clock)


def settle(runner: Scheduler) -> None:
    assert runner.wait_idle(10)


def test_a_cron_job_fires_at_its_slots_and_not_between(db, tmp_path):
    clock = Clock(at("2026-12-04T07:59:00", LISBON))
    job = jobs.create(
        db,
        schedule="0 8 * * *",
        prompt="Morning summary",
        timezone="Europe/Lisbon",
        now=clock.now(),
    )
    record = Recorder(db, clock)
    runner = scheduler(db, tmp_path, clock, record)
    assert runner.tick() == []
    clock.advance(59)
    assert runner.tick() == []  # 07:59:59
    clock.advance(1)
    assert len(runner.tick()) == 1  # 08:00
    settle(runner)
    assert runner.tick() == [], "a slot runs once"
    clock.advance(3600)
    assert runner.tick() == []
    clock.advance(23 * 3600)  # 08:00 the next day
    assert len(runner.tick()) == 1
    settle(runner)
    assert record.slots == [
        at("2026-12-04T08:00", LISBON).timestamp(),
        at("2026-12-05T08:00", LISBON).timestamp(),
    ]
    assert [r["status"] for r in db.cron_runs(job["id"])] == ["ok", "ok"]


def test_a_one_shot_fires_once_and_is_spent(db, tmp_path):
    clock = Clock(at("2026-12-04T12:00"))
    job = jobs.create(db, schedule="in 30m", prompt="Stretch", timezone="UTC", now=clock.now())
    record = Recorder(db, clock)
    runner = scheduler(db, tmp_path, clock, record)
    clock.advance(1800)
    assert len(runner.tick()) == 1
    settle(runner)
    clock.advance(86400 * 30)
    assert runner.tick() == []
    assert db.cron_job(job["id"])["next_run_at"] is None
    assert len(record.slots) == 1


def test_missed_slots_after_downtime_run_once_by_default(db, tmp_path):
    clock = Clock(at("2026-12-04T12:00"))
    job = jobs.create(db, schedule="every 1h", prompt="Check", timezone="UTC", now=clock.now())
    record = Recorder(db, clock)
    runner = scheduler(db, tmp_path, clock, record)
    clock.advance(5 * 3600 + 600)  # off for five slots
    assert len(runner.tick()) == 1
    settle(runner)
    assert runner.tick() == []
    assert record.slots == [at("2026-12-04T13:00").timestamp()]
    assert db.cron_job(job["id"])["next_run_at"] == at("2026-12-04T18:00").timestamp()


def test_missed_slots_can_be_skipped(db, tmp_path):
    class Skip(Settings):
        cron_missed = "skip"

    clock = Clock(at("2026-12-04T12:00"))
    job = jobs.create(db, schedule="every 1h", prompt="Check", timezone="UTC", now=clock.now())
    record = Recorder(db, clock)
    runner = scheduler(db, tmp_path, clock, record, Skip)
    clock.advance(5 * 3600 + 600)
    assert runner.tick() == []
    assert record.slots == []
    assert [r["status"] for r in db.cron_runs(job["id"])] == ["skipped"]
    clock.advance(3000)  # 18:00, on time
    assert len(runner.tick()) == 1
    settle(runner)


def test_the_concurrency_limit_holds_and_a_busy_job_is_not_run_twice(db, tmp_path):
    clock = Clock(at("2026-12-04T12:00"))
    for n in range(5):
        jobs.create(db, schedule="every 1m", prompt=f"job {n}", timezone="UTC", now=clock.now())
    gate = threading.Event()
    record = Recorder(db, clock, gate)
    runner = scheduler(db, tmp_path, clock, record)
    clock.advance(60)
    assert len(runner.tick()) == 5, "all claimed at once"
    clock.advance(60)
    assert runner.tick() == [], "none while its run is going"
    assert runner._pass() == POLL, "and the scheduler sleeps until a run ends, not spinning"
    gate.set()
    settle(runner)
    assert record.peak == Settings.cron_max_concurrent
    assert len(record.slots) == 5


def test_a_run_left_running_by_a_dead_process_is_marked_failed_not_rerun(db, tmp_path):
    clock = Clock(at("2026-12-04T12:00"))
    job = jobs.create(db, schedule="every 1h", prompt="Check", timezone="UTC", now=clock.now())
    slot = db.cron_job(job["id"])["next_run_at"]
    dead = f"{socket.gethostname()}:999999:abcd"  # no such process
    assert db.cron_claim(job["id"], slot, slot + 3600, dead, slot) is not None
    record = Recorder(db, clock)
    lease = Lease(tmp_path / "cron" / "scheduler.lock")
    runner = Scheduler(db, lambda: Settings, lease, execute=record, clock=clock)
    assert runner._take_lease()
    [run] = db.cron_runs(job["id"])
    assert run["status"] == "failed" and "interrupted" in run["error"]
    clock.advance(3600)
    assert runner.tick() == [], "the next slot is an hour after the failed one"
    clock.advance(3600)
    assert len(runner.tick()) == 1
    settle(runner)


def test_only_one_process_holds_the_lease_until_it_lets_go(tmp_path):
    path = tmp_path / "cron" / "scheduler.lock"
    first, second = Lease(path), Lease(path)
    assert first.try_take() and not second.try_take()
    first.release()
    assert second.try_take()


def _claim_all(db_path: str, job_id: str, slots: list[float], found) -> None:
    store = SessionDB(Path(db_path))
    won = []
    for index, slot in enumerate(slots):
        following = slots[index + 1] if index + 1 < len(slots) else None
        while (store.cron_job(job_id)["next_run_at"] or float("inf")) < slot:
            time.sleep(0.001)  # the other process claimed the slot before: catch up
        if store.cron_claim(job_id, slot, following, "racer", slot) is not None:
            won.append(slot)
    found.put(won)
    store.close()


def test_two_processes_racing_for_every_slot_never_run_one_twice(db, tmp_path):
    job = jobs.create(db, schedule="every 1m", prompt="Race", timezone="UTC", now=0)
    first = db.cron_job(job["id"])["next_run_at"]
    slots = [first + 60 * n for n in range(200)]
    found = multiprocessing.get_context("spawn").Queue()
    racers = [
        multiprocessing.get_context("spawn").Process(
            target=_claim_all, args=(str(tmp_path / "state.db"), job["id"], slots, found)
        )
        for _ in range(2)
    ]
    for racer in racers:
        racer.start()
    won = [found.get(timeout=60) for _ in racers]
    for racer in racers:
        racer.join(10)
    assert sorted(won[0] + won[1]) == slots, "every slot ran, and none twice"
    assert len(db.cron_runs(job["id"], limit=1000)) == 200


def test_a_job_the_agent_makes_in_a_telegram_chat_delivers_to_that_chat(tmp_path, monkeypatch):
    import json

    from hermes_cron.delivery import target_of

    monkeypatch.setenv("HERMES_HOME", str(tmp_path))
    (tmp_path / "gateway").mkdir()
    sessions = {
        "agent:main:telegram:dm:77": {"session_id": "s-private"},
        "agent:main:telegram:group:-100:5": {"session_id": "s-group"},
        "agent:main:webhook:dm:ci": {"session_id": "s-hook"},
    }
    (tmp_path / "gateway" / "sessions.json").write_text(json.dumps(sessions))
    assert target_of("s-private") == "telegram:77"
    assert target_of("s-group") == "telegram:-100"
    assert target_of("s-hook") == "web"
    assert target_of("a-web-session") == "web"
