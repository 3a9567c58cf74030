"""`hermes cron add|list|show|edit|pause|resume|remove|run` as processes on a temp home, with
`run` answered by the scripted OpenAI-compatible provider; the jobs and runs checked in
state.db afterwards."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from hermes_state import SessionDB
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.support import SECRET_ENV_PREFIXES, fake_provider_env, run_hermes


@pytest.fixture
def fake():
    with FakeOpenAI() as server:
        yield server


def hermes(
    root: Path, *args: str, fake: FakeOpenAI | None = None, **settings: str
) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(SECRET_ENV_PREFIXES)}
    env.update(HERMES_HOME=str(root / "home"), HOME=str(root / "user"), HERMES_TIMEZONE="UTC")
    env.update(settings)
    if fake is not None:
        env.update(fake_provider_env(fake))
    return run_hermes("cron", *args, env=env)


def stored_jobs(root: Path) -> list[dict]:
    db = SessionDB(db_path=root / "home" / "state.db")
    try:
        return db.cron_jobs()
    finally:
        db.close()


def stored_runs(root: Path) -> list[dict]:
    db = SessionDB(db_path=root / "home" / "state.db")
    try:
        return db.cron_runs()
    finally:
        db.close()


def test_add_prints_only_the_id_and_the_job_is_listed_shown_changed_and_removed(tmp_path):
    added = hermes(
        tmp_path,
        "add",
        "0 8 * * 1-5",
        "Summarise the news",
        "--name",
        "Morning news",
        "--skill",
        "news",
        "--deliver",
        "telegram:4242",
        "--timezone",
        "Europe/Lisbon",
    )
    assert added.returncode == 0, added.stderr
    assert re.fullmatch(r"[0-9a-f]{12}\n", added.stdout)
    job_id = added.stdout.strip()
    assert "Scheduled Morning news: At 08:00, Monday through Friday" in added.stderr
    [job] = stored_jobs(tmp_path)
    assert (job["id"], job["name"], job["prompt"]) == (job_id, "Morning news", "Summarise the news")
    assert (job["schedule"], job["timezone"], job["deliver"]) == (
        "0 8 * * 1-5",
        "Europe/Lisbon",
        "telegram:4242",
    )
    assert (job["skills"], job["origin"], job["may_schedule"]) == (["news"], "cli", False)

    listed = hermes(tmp_path, "list").stdout
    assert f"{job_id} Morning news · At 08:00, Monday through Friday (Europe/Lisbon)" in listed
    assert "last: not run yet · to telegram:4242" in listed
    assert "**" not in listed

    shown = hermes(tmp_path, "show", job_id[:5]).stdout  # a prefix names it too
    assert shown.startswith(f"Morning news ({job_id})\n")
    assert "Delivers to: telegram:4242\nSkills: news\n" in shown
    assert "Prompt\nSummarise the news\n" in shown
    assert shown.endswith("Last runs\n(none yet)\n")

    edited = hermes(
        tmp_path, "edit", job_id, "--schedule", "every 2h", "--prompt", "Headlines only"
    )
    assert edited.returncode == 0, edited.stderr
    assert "Every 2 hours" in edited.stdout
    [job] = stored_jobs(tmp_path)
    assert (job["schedule"], job["schedule_kind"], job["prompt"]) == (
        "every 2h",
        "every",
        "Headlines only",
    )
    assert job["name"] == "Morning news" and job["skills"] == ["news"]  # the rest unchanged

    assert hermes(tmp_path, "pause", "Morning news").returncode == 0  # by its name
    assert stored_jobs(tmp_path)[0]["paused"] is True
    assert "next: paused" in hermes(tmp_path, "list").stdout
    resumed = hermes(tmp_path, "resume", job_id)
    assert resumed.stdout.startswith(f"Resumed Morning news ({job_id}); next run ")
    assert stored_jobs(tmp_path)[0]["paused"] is False

    removed = hermes(tmp_path, "remove", job_id)
    assert removed.stdout == f"Removed Morning news ({job_id}).\n"
    assert stored_jobs(tmp_path) == []
    assert hermes(tmp_path, "list").stdout == "No scheduled jobs.\n"


def test_mistakes_are_explained_on_stderr_and_nothing_is_saved(tmp_path):
    cases = [
        (("add", "now and then", "Hi"), "'now and then' is not a schedule"),
        (("add", "every 10s", "Hi"), "at least a minute"),
        (("add", "every 1h", "Hi", "--deliver", "email:me"), "is not a delivery target"),
        (("add", "every 1h", "Hi", "--timezone", "Mars/Olympus"), "is not a time zone"),
        (("add", "every 1h", "Hi", "--skill", "Bad Skill"), "not skill names: Bad Skill"),
        (("add", "2001-01-01T09:00", "Hi"), "that moment has passed"),
        (("add", "every 1h", "   "), "the prompt is empty"),
        (("show", "abc123"), "there is no scheduled job 'abc123'"),
        (("pause", "nope"), "there is no scheduled job 'nope'"),
        (("remove", "nope"), "there is no scheduled job 'nope'"),
        (("run", "nope"), "there is no scheduled job 'nope'"),
        (("edit", "nope", "--name", "x"), "there is no scheduled job 'nope'"),
    ]
    for args, message in cases:
        result = hermes(tmp_path, *args)
        assert result.returncode == 1, args
        assert result.stdout == "", args
        assert result.stderr.startswith("hermes: ") and message in result.stderr, result.stderr
    assert stored_jobs(tmp_path) == []

    job_id = hermes(tmp_path, "add", "every 1h", "Check the backups").stdout.strip()
    bad_edit = hermes(tmp_path, "edit", job_id, "--deliver", "telegram:me")
    assert bad_edit.returncode == 1 and "is not a delivery target" in bad_edit.stderr
    assert hermes(tmp_path, "edit", job_id).stderr.startswith("hermes: nothing to change")
    [job] = stored_jobs(tmp_path)
    assert job["deliver"] == "web"


def test_a_target_answers_cannot_reach_yet_is_saved_with_a_warning(tmp_path):
    hook = {
        "HERMES_WEBHOOK_SECRETS": "ci=a-webhook-secret-of-enough-length",
        "HERMES_WEBHOOK_CALLBACK_URLS": "ci=http://127.0.0.1:9/hook",
    }
    to_hook = hermes(tmp_path, "add", "every 2h", "Build?", "--deliver", "webhook:ci", **hook)
    assert to_hook.returncode == 0, to_hook.stderr
    assert "warning" not in to_hook.stderr

    typo = hermes(tmp_path, "add", "every 2h", "Build?", "--deliver", "webhook:cj", **hook)
    assert typo.returncode == 0 and re.fullmatch(r"[0-9a-f]{12}\n", typo.stdout)
    assert (
        "hermes: warning: answers cannot reach webhook:cj yet: the webhook 'cj' has no "
        "callback_url." in typo.stderr
    )
    job_id = typo.stdout.strip()
    to_chat = hermes(tmp_path, "edit", job_id, "--deliver", "telegram:4242")
    assert to_chat.returncode == 0, to_chat.stderr
    assert "yet: no Telegram bot is configured" in to_chat.stderr
    broken = {"HERMES_WEBHOOK_CALLBACK_URLS": "ci=http://127.0.0.1:9/hook"}  # no secret
    unread = hermes(tmp_path, "add", "in 1h", "Build?", "--deliver", "webhook:ci", **broken)
    assert unread.returncode == 0, "the job is saved whatever the gateway's settings say"
    assert "yet: Invalid gateway settings: webhook.hooks.ci.secret" in unread.stderr
    assert [job["deliver"] for job in stored_jobs(tmp_path)] == [
        "webhook:ci",
        "telegram:4242",
        "webhook:ci",
    ]


def test_run_prints_the_answer_and_show_lists_the_run(tmp_path, fake):
    fake.script(Reply.text("Backups are fine."))
    job_id = hermes(tmp_path, "add", "every 1d", "Check the backups").stdout.strip()

    ran = hermes(tmp_path, "run", job_id, fake=fake)

    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "Backups are fine.\n"
    assert fake.requests[-1]["messages"][-1]["content"] == "Check the backups"
    [run] = stored_runs(tmp_path)
    assert (run["status"], run["trigger"], run["delivered"]) == ("ok", "manual", "web")
    assert run["session_id"]
    assert stored_jobs(tmp_path)[0]["last_status"] == "ok"
    shown = hermes(tmp_path, "show", job_id).stdout
    assert "Last status: ok\n" in shown
    assert re.search(
        r"\n\d{4}-\d\d-\d\d \d\d:\d\d UTC  ok \(run by hand\), delivered to web\n", shown
    )


def test_a_failed_run_exits_1_saying_why_and_is_listed_as_failed(tmp_path, fake):
    fake.script(Reply.error(500, "upstream exploded"))
    job_id = hermes(tmp_path, "add", "every 1d", "Check the backups").stdout.strip()

    ran = hermes(tmp_path, "run", job_id, fake=fake)

    assert ran.returncode == 1
    assert "hermes: the run failed: " in ran.stderr
    [run] = stored_runs(tmp_path)
    assert run["status"] == "failed" and run["error"]
    assert "  failed (run by hand): " in hermes(tmp_path, "show", job_id).stdout
    assert "last: failed" in hermes(tmp_path, "list").stdout
