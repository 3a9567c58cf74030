"""Scheduled jobs through a real `hermes web`: created, listed, edited, paused, resumed and
deleted over the HTTP API, a schedule previewed before it is saved, bad input refused with
the reason and nothing changed, and "run now" answered by the scripted model, its run
recorded with the answer and its conversation readable like any other."""

from __future__ import annotations

import time

import pytest

from tests.fakes.openai_server import Reply
from tests.support import ServerProcess, fake_provider_env, request

ZONE = "Europe/Lisbon"


@pytest.fixture(scope="module")
def server(tmp_path_factory, fake):
    env = fake_provider_env(fake, HERMES_TIMEZONE=ZONE, HERMES_ENABLED_TOOLS="todo")
    process = ServerProcess(tmp_path_factory.mktemp("cron-api"), extra_env=env)
    process.start()
    yield process
    process.stop()


def get(server: ServerProcess, path: str):
    return request(server.base, "GET", path)


def post(server: ServerProcess, path: str, body: dict):
    return request(server.base, "POST", path, body)


def listed(server: ServerProcess) -> dict[str, dict]:
    reply = get(server, "/api/cron/jobs")
    assert reply.status == 200, reply.body
    return {job["id"]: job for job in reply.json["jobs"]}


def create(server: ServerProcess, **fields) -> dict:
    body = {"prompt": "Summarise the harbour log.", "schedule": "0 8 * * 1-5", **fields}
    reply = post(server, "/api/cron/job/save", body)
    assert reply.status == 200, reply.body
    return reply.json["job"]


def wait_for_run(server: ServerProcess, job_id: str, run_id: int) -> dict:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        runs = get(server, f"/api/cron/runs?job_id={job_id}").json["runs"]
        run = next((r for r in runs if r["id"] == run_id), None)
        if run and run["status"] != "running":
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish: {server.log()}")


def test_a_job_is_created_listed_edited_paused_resumed_and_deleted(server):
    reply = get(server, "/api/cron/jobs")
    assert reply.headers["cache-control"] == "no-store"
    assert reply.json["timezone"] == ZONE

    job = create(server, name="Harbour digest", deliver="telegram:-1001", skills=["triage"])
    assert job["timezone"] == ZONE, "a job takes the user's zone by default"
    assert job["origin"] == "web"
    assert job["description"] == f"At 08:00, Monday through Friday ({ZONE})"
    assert job["next_run"].endswith(("T08:00:00+00:00", "T08:00:00+01:00"))
    assert job["last_run"] is None
    shown = listed(server)[job["id"]]
    assert shown["name"] == "Harbour digest"
    assert shown["deliver"] == "telegram:-1001"
    assert shown["skills"] == ["triage"]

    edited = post(
        server,
        "/api/cron/job/save",
        {
            "id": job["id"],
            "name": "Harbour digest (weekends)",
            "prompt": "Summarise the weekend log.",
            "schedule": "30 9 * * 6,0",
            "deliver": "web",
            "skills": [],
            "model": "other-model",
            "timezone": "Asia/Tokyo",
        },
    )
    assert edited.status == 200, edited.body
    changed = listed(server)[job["id"]]
    assert changed["prompt"] == "Summarise the weekend log."
    assert changed["schedule"] == "30 9 * * 6,0"
    assert changed["timezone"] == "Asia/Tokyo"
    assert changed["next_run"].endswith("T09:30:00+09:00")
    assert (changed["deliver"], changed["skills"], changed["model"]) == ("web", [], "other-model")

    paused = post(server, "/api/cron/job/pause", {"id": job["id"], "paused": True})
    assert paused.status == 200 and paused.json["job"]["paused"] is True
    assert listed(server)[job["id"]]["paused"] is True
    resumed = post(server, "/api/cron/job/pause", {"id": job["id"], "paused": False})
    assert resumed.json["job"]["paused"] is False
    assert resumed.json["job"]["next_run_at"] > time.time()

    assert post(server, "/api/cron/job/delete", {"id": job["id"]}).json == {"ok": True}
    assert job["id"] not in listed(server)
    assert post(server, "/api/cron/job/delete", {"id": job["id"]}).status == 404


def test_a_target_answers_cannot_reach_yet_is_saved_with_the_reason(server):
    body = {"prompt": "Build?", "schedule": "every 2h", "deliver": "webhook:nightly"}
    saved = post(server, "/api/cron/job/save", body)
    assert saved.status == 200, saved.body
    assert saved.json["warning"] == "the webhook 'nightly' has no callback_url"
    job_id = saved.json["job"]["id"]
    assert listed(server)[job_id]["deliver"] == "webhook:nightly"

    fixed = post(server, "/api/cron/job/save", {**body, "id": job_id, "deliver": "web"})
    assert fixed.status == 200 and "warning" not in fixed.json
    post(server, "/api/cron/job/delete", {"id": job_id})


def test_an_edit_leaves_an_unchanged_interval_and_the_fields_left_out_as_they_were(server):
    job = create(server, schedule="every 2 hours", deliver="telegram:7", skills=["triage"])
    assert job["schedule"] == "every 2h"
    edited = post(
        server,
        "/api/cron/job/save",
        {"id": job["id"], "prompt": "Another prompt.", "schedule": "every 2h"},
    ).json["job"]
    assert edited["next_run_at"] == job["next_run_at"]
    assert edited["prompt"] == "Another prompt."
    assert (edited["deliver"], edited["skills"]) == ("telegram:7", ["triage"])
    post(server, "/api/cron/job/delete", {"id": job["id"]})


def test_a_schedule_is_previewed_in_words_with_its_next_three_runs(server):
    reply = get(server, "/api/cron/preview?schedule=0%208%20*%20*%201-5")
    assert reply.status == 200, reply.body
    assert reply.json["description"] == f"At 08:00, Monday through Friday ({ZONE})"
    assert len(reply.json["next"]) == 3
    assert all("T08:00:00" in moment for moment in reply.json["next"])

    tokyo = get(server, "/api/cron/preview?schedule=every%2090m&timezone=Asia/Tokyo").json
    assert tokyo["schedule"] == "every 90m"
    assert tokyo["description"] == "Every 90 minutes"

    bad = get(server, "/api/cron/preview?schedule=61%208%20*%20*%20*")
    assert bad.status == 400
    assert "is not a cron expression" in bad.json["error"]
    zone = get(server, "/api/cron/preview?schedule=every%202h&timezone=Mars/Olympus")
    assert zone.status == 400
    assert "is not a time zone" in zone.json["error"]


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"schedule": "whenever you like"}, "is not a schedule"),
        ({"schedule": "every 10s"}, "at least a minute"),
        ({"deliver": "email:someone@example.com"}, "is not a delivery target"),
        ({"deliver": "telegram:../../etc"}, "is not a delivery target"),
        ({"prompt": "   "}, "the prompt is empty"),
        ({"prompt": "x" * 20_001}, "at most 20000 characters"),
        ({"skills": ["../secrets"]}, "not skill names"),
        ({"timezone": "Nowhere/Else"}, "is not a time zone"),
        ({"schedule": "2001-01-01T09:00"}, "that moment has passed"),
        ({"workspace": "/etc"}, "system directory"),
        ({"workspace": "/nonexistent/place"}, "does not exist"),
    ],
)
def test_bad_input_is_refused_with_its_reason_and_nothing_is_saved(server, fields, reason):
    before = listed(server)
    body = {"prompt": "Check the buoys.", "schedule": "0 8 * * *", **fields}

    reply = post(server, "/api/cron/job/save", body)

    assert reply.status == 400, reply.body
    assert reason in reply.json["error"]
    assert listed(server) == before


def test_an_edit_with_bad_input_changes_nothing(server):
    job = create(server)
    before = listed(server)[job["id"]]
    bad = post(
        server,
        "/api/cron/job/save",
        {"id": job["id"], "prompt": "Changed?", "schedule": "0 8 * * *", "deliver": "fax:1"},
    )
    assert bad.status == 400
    assert listed(server)[job["id"]] == before
    post(server, "/api/cron/job/delete", {"id": job["id"]})


@pytest.mark.parametrize(
    "path", ["/api/cron/job/pause", "/api/cron/job/delete", "/api/cron/job/run"]
)
def test_unknown_and_path_like_ids_are_404_and_400(server, path):
    before = listed(server)
    extra = {"paused": True} if path.endswith("pause") else {}

    unknown = post(server, path, {"id": "0123456789ab", **extra})
    assert unknown.status == 404
    assert "there is no scheduled job" in unknown.json["error"]
    for bad_id in ("../../etc/passwd", "abc/def", "", "0123456789ABCDEF"):
        reply = post(server, path, {"id": bad_id, **extra})
        assert reply.status == 400, (bad_id, reply.body)
        assert reply.json["error"].startswith("id:")
    assert listed(server) == before
    assert get(server, "/api/cron/runs?job_id=../etc").status == 400


def test_editing_an_unknown_job_is_404_and_creates_nothing(server):
    before = listed(server)
    body = {"id": "0123456789ab", "prompt": "p", "schedule": "0 8 * * *"}
    assert post(server, "/api/cron/job/save", body).status == 404
    assert listed(server) == before


def test_run_now_records_the_answer_and_its_conversation(server, fake):
    job = create(server, name="Quiet check")
    since = get(server, "/api/cron/runs?limit=1").json["now"]
    fake.script(Reply.text("Summary: all quiet."))
    before = {r["session_id"] for r in get(server, "/api/sessions").json["sessions"]}

    started = post(server, "/api/cron/job/run", {"id": job["id"]})
    assert started.status == 200, started.body
    run = wait_for_run(server, job["id"], started.json["run_id"])

    assert run["status"] == "ok", run
    assert run["trigger"] == "manual"
    assert run["result"] == "Summary: all quiet."
    assert run["delivered"] == "web"
    assert run["job_name"] == "Quiet check"
    assert listed(server)[job["id"]]["last_run"]["id"] == run["id"]
    fresh = get(server, f"/api/cron/runs?since={since}").json["runs"]
    assert [r["id"] for r in fresh] == [run["id"]]
    assert get(server, f"/api/cron/runs?since={run['finished_at']}").json["runs"] == []

    session = get(server, f"/api/session?session_id={run['session_id']}")
    assert session.status == 200, session.body
    messages = session.json["session"]["messages"]
    assert [(m["role"], m["content"]) for m in messages] == [
        ("user", "Summarise the harbour log."),
        ("assistant", "Summary: all quiet."),
    ]
    assert session.json["session"]["title"].startswith("⏰ Quiet check · ")
    rows = {r["session_id"]: r for r in get(server, "/api/sessions").json["sessions"]}
    assert rows[run["session_id"]]["source"] == "cron", "listed under Scheduled"
    assert run["session_id"] not in before, "listed although the list was read before the run"

    post(server, "/api/cron/job/delete", {"id": job["id"]})
    assert get(server, f"/api/cron/runs?job_id={job['id']}").json["runs"] == []
    assert get(server, f"/api/session?session_id={run['session_id']}").status == 200
