"""`hermes state repair` and `hermes doctor`: getting back what a damaged state.db still holds.

The damaged files here are real SQLite databases with pages overwritten, as a failing disk or
a stray write leaves them: a bad page costs the rows on it, never the rest.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from hermes_state import SessionDB
from tests.damage import overwrite_page_holding, overwrite_root_page, record
from tests.support import ServerProcess, request, run_hermes

COPY_NAME = "state.db.damaged-20260101-000000"


def _hermes(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"HERMES_HOME": str(home), "PATH": "/usr/bin:/bin", "HOME": str(home.parent)}
    return run_hermes(*args, env=env)


def _contents(path: Path, sid: str) -> list[str]:
    with SessionDB(path) as db:
        return [m["content"] for m in db.get_messages(sid)]


def test_repair_recovers_every_readable_row_of_a_damaged_copy_once(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    copy = home / COPY_NAME
    record(copy, {"alpha": 40, "beta": 6}, title="Alpha plans")
    overwrite_page_holding(copy, "messages", b"alpha message 0021 ")
    damaged = copy.read_bytes()

    doctor = _hermes(home, "doctor")
    assert doctor.returncode == 1, doctor.stdout
    assert f"{COPY_NAME}, was set aside and not yet recovered" in doctor.stdout
    assert f"hermes state repair {copy}" in doctor.stdout

    repaired = _hermes(home, "state", "repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "Recovered 2 conversation(s)" in repaired.stdout
    assert "could not be read" in repaired.stdout
    assert copy.read_bytes() == damaged, "the damaged copy is evidence; it is never written"

    alpha = _contents(home / "state.db", "alpha")
    assert alpha[0].startswith("alpha message 0000") and alpha[-1].startswith("alpha message 0039")
    assert not any(m.startswith("alpha message 0021") for m in alpha), "it was on the bad page"
    assert 30 <= len(alpha) < 40, "only the rows on the bad page are lost"
    assert alpha == sorted(alpha), "recovered in their order"
    assert len(_contents(home / "state.db", "beta")) == 6
    with SessionDB(home / "state.db") as db:
        assert db.get_session("alpha")["title"] == "Alpha plans"
        assert db.search_messages("message 0039"), "recovered messages are searchable"

    again = _hermes(home, "state", "repair", str(copy))
    assert again.returncode == 0
    assert "already recovered" in again.stdout
    assert len(_contents(home / "state.db", "alpha")) == len(alpha), "nothing added twice"

    doctor = _hermes(home, "doctor")
    assert doctor.returncode == 0, doctor.stdout
    assert f"{COPY_NAME} was recovered into state.db" in doctor.stdout


def test_a_session_that_went_on_after_the_damage_keeps_its_id_and_the_old_part_is_kept_apart(
    tmp_path,
):
    home = tmp_path / "home"
    home.mkdir()
    record(home / COPY_NAME, {"shared": 4}, title="Shared")
    record(home / "state.db", {"shared": 2}, title="Shared")

    repaired = _hermes(home, "state", "repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "shared is stored as shared-recovered" in repaired.stdout
    assert len(_contents(home / "state.db", "shared")) == 2, "the live session is untouched"
    assert len(_contents(home / "state.db", "shared-recovered")) == 4
    with SessionDB(home / "state.db") as db:
        assert db.get_session("shared-recovered")["title"] == "Shared (recovered)"


def test_a_recovered_sub_agent_session_follows_its_conversation_to_its_new_id(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    record(home / COPY_NAME, {"shared": 2})
    with SessionDB(home / COPY_NAME) as copy:
        copy.create_session("sub", "cli", delegated_from="shared")
        copy.append_message("sub", "user", "the subtask")
    record(home / "state.db", {"shared": 2})

    repaired = _hermes(home, "state", "repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    with SessionDB(home / "state.db") as db:
        assert db.get_session("sub")["delegated_from"] == "shared-recovered"
        listed = {row["id"] for row in db.list_sessions_rich()}
    assert listed == {"shared", "shared-recovered"}, "a sub-agent's session is never listed"


def test_scheduled_jobs_come_back_once_and_a_job_still_present_is_left_alone(tmp_path):
    from hermes_cron import jobs
    from hermes_state.cron import JOB_FIELDS

    home = tmp_path / "home"
    home.mkdir()
    record(home / COPY_NAME, {"alpha": 2})
    with SessionDB(home / COPY_NAME) as copy:
        lost = jobs.create(copy, schedule="0 8 * * *", prompt="Inbox", timezone="UTC", now=0)
        kept = jobs.create(copy, schedule="every 1h", prompt="Ping", timezone="UTC", now=0)
    with SessionDB(home / "state.db") as db:  # the same job, edited after the damage
        fields = {k: kept[k] for k in JOB_FIELDS}
        db.cron_create_job(kept["id"], 5, **{**fields, "prompt": "Ping, edited"})

    repaired = _hermes(home, "state", "repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "Recovered 1 scheduled job(s)." in repaired.stdout
    with SessionDB(home / "state.db") as db:
        assert db.cron_job(lost["id"])["prompt"] == "Inbox"
        assert db.cron_job(lost["id"])["next_run_at"] == lost["next_run_at"]
        assert db.cron_job(kept["id"])["prompt"] == "Ping, edited", "the current one wins"


def test_messages_whose_session_row_was_lost_are_kept_under_a_recovered_session(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    copy = home / COPY_NAME
    record(copy, {"lonely": 4})
    overwrite_root_page(copy, "sessions")

    repaired = _hermes(home, "state", "repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert len(_contents(home / "state.db", "lonely")) == 4
    with SessionDB(home / "state.db") as db:
        assert db.get_session("lonely")["source"] == "recovered"


def test_repair_says_so_when_nothing_can_be_read(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / COPY_NAME).write_bytes(b"not a database at all " * 400)

    repaired = _hermes(home, "state", "repair")
    assert repaired.returncode == 1
    assert "Nothing could be read" in repaired.stdout
    assert "Traceback" not in repaired.stderr


def test_repair_sets_a_damaged_state_db_aside_first_and_doctor_names_the_damage(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    record(home / "state.db", {"kept": 4})
    overwrite_root_page(home / "state.db", "schema_migrations")

    doctor = _hermes(home, "doctor")
    assert doctor.returncode == 1
    assert "state.db is damaged" in doctor.stdout

    repaired = _hermes(home, "state", "repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "moved it to" in repaired.stdout
    assert len(list(home.glob("state.db.damaged-*"))) == 1
    assert len(_contents(home / "state.db", "kept")) == 4


def test_repair_while_the_web_server_runs_clears_its_notice(tmp_path):
    server = ServerProcess(tmp_path)
    home = server.root / "hermes-home"
    home.mkdir(parents=True)
    record(home / "state.db", {"from-terminal": 4})
    overwrite_root_page(home / "state.db", "schema_migrations")
    server.start()
    try:
        store = request(server.base, "GET", "/health").json["store"]
        assert store["status"] == "replaced"
        copy = Path(store["damaged_copy"])
        assert store["unrecovered"] == [copy.name]

        repaired = _hermes(home, "state", "repair")
        assert repaired.returncode == 0, repaired.stdout + repaired.stderr
        assert request(server.base, "GET", "/health").json["store"]["unrecovered"] == []
    finally:
        server.stop()
    assert len(_contents(home / "state.db", "from-terminal")) == 4
