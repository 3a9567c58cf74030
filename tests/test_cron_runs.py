"""Scheduled runs in real `hermes web` processes, with a clock the test moves (a file both the
test and the servers read): delivery to the web, a fake Telegram and a signed webhook;
`[SILENT]`; a command nobody can approve; kill -9 during a run; two processes and one lease."""

from __future__ import annotations

import http.server
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from gateway.platforms.webhook_auth import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from hermes_cron import jobs
from hermes_cron.clock import FileClock
from hermes_state import SessionDB
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.fakes.telegram_server import FakeTelegram
from tests.support import ServerProcess, fake_provider_env, local_http

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC).timestamp()
HOUR = 3600.0
CHAT = 4242
HOOK_SECRET = "a-webhook-secret-of-enough-length"


RECEIVED: list[tuple[dict, bytes]] = []  # the webhook callbacks: (headers, body)


class Callbacks(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        RECEIVED.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        return


@pytest.fixture(scope="module")
def callback_url() -> Iterator[str]:
    with local_http(Callbacks) as base:
        yield f"{base}/done"


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(scope="module")
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


class World:
    """A Hermes home, its clock, and `hermes web` processes sharing them."""

    def __init__(self, root, llm: FakeOpenAI, **env: str) -> None:
        self.root = root
        self.clock = FileClock(root / "clock")
        self.clock.set(T0)
        self.home = root / "hermes-home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.env = {
            **fake_provider_env(llm),
            "HERMES_CRON_CLOCK": str(self.clock.path),
            "HERMES_TIMEZONE": "UTC",
            **env,
        }
        self.servers: list[ServerProcess] = []
        self.db = SessionDB(self.home / "state.db")

    def server(self) -> ServerProcess:
        root = self.root / f"server-{len(self.servers)}"
        root.mkdir()
        server = ServerProcess(root, extra_env={**self.env, "HERMES_HOME": str(self.home)})
        self.servers.append(server.start())
        return server

    def job(self, schedule: str, prompt: str, **options) -> dict:
        return jobs.create(
            self.db, schedule=schedule, prompt=prompt, timezone="UTC", now=T0, **options
        )

    def runs(self, job: dict) -> list[dict]:
        return list(reversed(self.db.cron_runs(job["id"], limit=100)))

    def wait_runs(self, job: dict, count: int, done: bool = True, timeout: float = 20) -> list:
        deadline = time.monotonic() + timeout
        while True:
            runs = self.runs(job)
            finished = [r for r in runs if r["status"] != "running"] if done else runs
            if len(finished) >= count:
                return runs
            assert time.monotonic() < deadline, f"runs so far: {runs}"
            time.sleep(0.05)

    def close(self) -> None:
        for server in self.servers:
            server.stop()
        self.db.close()


@pytest.fixture
def world(tmp_path, llm) -> Iterator[World]:
    made = World(tmp_path, llm)
    yield made
    made.close()


def test_a_run_is_a_conversation_delivered_to_the_web_and_silent_delivers_nothing(world, llm):
    report = world.job("every 1h", "Summarise the inbox folder.", name="Inbox", may_schedule=True)
    quiet = world.job("in 90m", "Tell me only if the disk is full.", name="Disk")
    world.server()
    llm.script(Reply.text("Three new letters, none urgent."))
    world.clock.set(T0 + HOUR)
    [run] = world.wait_runs(report, 1)
    offered = {tool["function"]["name"] for tool in llm.requests[-1]["tools"]}
    assert "cronjob" in offered, "this job was allowed to schedule others"
    assert run["status"] == "ok" and run["delivered"] == "web"
    assert run["result"] == "Three new letters, none urgent."
    session = world.db.get_session(run["session_id"])
    assert session["source"] == "cron"
    assert session["title"].startswith("⏰ Inbox · 2026-12-04 13:00")
    conversation = world.db.get_messages_as_conversation(run["session_id"])
    assert [m["role"] for m in conversation] == ["user", "assistant"]

    llm.script(Reply.text("[SILENT]"))
    world.clock.set(T0 + HOUR + 1800)
    [silent] = world.wait_runs(quiet, 1)
    assert silent["status"] == "silent" and silent["delivered"] is None
    assert len(world.runs(report)) == 1, "nothing runs between slots"
    assert world.db.cron_job(quiet["id"])["next_run_at"] is None, "a one-shot is spent"


def test_a_command_outside_the_allowlist_is_denied_and_reported(world, llm, tmp_path):
    target = tmp_path / "made-by-a-job"
    job = world.job("every 1h", "Tidy up.", workspace=str(tmp_path))
    world.server()
    llm.script(
        Reply.tool_calls([("terminal", {"command": f"touch {target}"})]),
        Reply.text("I could not tidy up."),
    )
    world.clock.set(T0 + HOUR)
    [run] = world.wait_runs(job, 1)
    assert not target.exists()
    assert f"touch {target}" in run["result"]
    assert "Not allowed without someone to approve it" in run["result"]
    tool = [
        m for m in world.db.get_messages_as_conversation(run["session_id"]) if m["role"] == "tool"
    ]
    assert "no one can be asked" in tool[0]["content"]


def test_delivery_to_telegram_and_to_a_signed_webhook(tmp_path, llm, tg, callback_url):
    world = World(
        tmp_path,
        llm,
        HERMES_TELEGRAM_TOKEN=tg.token,
        HERMES_TELEGRAM_BASE_URL=tg.base_url,
        HERMES_TELEGRAM_ALLOWED_USERS=str(CHAT),
        HERMES_WEBHOOK_SECRETS=f"ci={HOOK_SECRET}",
        HERMES_WEBHOOK_CALLBACK_URLS=f"ci={callback_url}",
    )
    try:
        to_chat = world.job("every 1h", "Weather?", deliver=f"telegram:{CHAT}")
        stranger = world.job("every 1h", "Secrets?", deliver="telegram:999999")
        to_hook = world.job("every 1h", "Build?", deliver="webhook:ci")
        world.server()
        llm.default = Reply.text("**Sunny**, 21 °C.")
        world.clock.set(T0 + HOUR)
        world.wait_runs(to_chat, 1)
        world.wait_runs(stranger, 1)
        [hooked] = world.wait_runs(to_hook, 1)
    finally:
        llm.default = None
        world.close()
    assert [m.text for m in tg.messages(CHAT)] == ["<b>Sunny</b>, 21 °C."]
    assert tg.messages(999999) == []
    assert world_run(tmp_path, stranger)["delivered"].startswith("failed: chat 999999 is not")
    headers, body = RECEIVED[-1]
    timestamp = int(headers[TIMESTAMP_HEADER])
    assert headers[SIGNATURE_HEADER] == sign(HOOK_SECRET, timestamp, body)
    sent = json.loads(body)
    assert sent["reply"] == "**Sunny**, 21 °C." and sent["job_id"] == to_hook["id"]
    assert sent["session_id"] == hooked["session_id"]


def world_run(root, job: dict) -> dict:
    db = SessionDB(root / "hermes-home" / "state.db")
    try:
        return db.cron_runs(job["id"])[0]
    finally:
        db.close()


def test_kill_9_during_a_run_marks_it_failed_on_restart_and_the_next_slot_runs(world, llm):
    job = world.job("every 1h", "A long report.")
    first = world.server()
    llm.script(Reply.hang(30))
    asked = len(llm.requests)
    world.clock.set(T0 + HOUR)
    world.wait_runs(job, 1, done=False)
    deadline = time.monotonic() + 20
    while len(llm.requests) == asked:  # the run is talking to the model
        assert time.monotonic() < deadline, "the run never asked the model"
        time.sleep(0.05)
    first.kill()

    llm.clear_script()
    world.server()
    [run] = world.wait_runs(job, 1)
    assert run["status"] == "failed" and "interrupted" in run["error"]
    cut_off = world.db.get_messages_as_conversation(run["session_id"])
    assert cut_off[0]["content"] == "A long report.", "the cut-off run's conversation is kept"
    time.sleep(0.3)
    assert len(world.runs(job)) == 1, "the cut-off slot is not run again"
    llm.script(Reply.text("Report done."))
    world.clock.set(T0 + 2 * HOUR)
    runs = world.wait_runs(job, 2)
    assert [r["status"] for r in runs] == ["failed", "ok"]
    assert runs[1]["slot"] == T0 + 2 * HOUR


def test_two_processes_share_one_lease_and_the_survivor_takes_over(world, llm):
    job = world.job("every 1h", "Ping.")
    servers = [world.server(), world.server()]
    llm.default = Reply.text("Pong.")
    try:
        for n in range(1, 4):
            world.clock.set(T0 + n * HOUR)
            world.wait_runs(job, n)
        holder = world.db.cron_lease()
        runners = {r["runner"] for r in world.runs(job)}
        assert runners == {holder["holder"]}, "one process ran every slot"
        dead = next(s for s in servers if s.proc.pid == holder["pid"])
        dead.kill()
        world.clock.set(T0 + 4 * HOUR)
        runs = world.wait_runs(job, 4, timeout=30)
    finally:
        llm.default = None
    assert [r["slot"] for r in runs] == [T0 + n * HOUR for n in range(1, 5)], "each slot once"
    assert runs[-1]["runner"] != holder["holder"]
    assert all(r["status"] == "ok" for r in runs)


def test_the_agent_schedules_a_job_and_the_job_cannot_schedule_more(world, llm):
    from tests.support import read_events, request

    server = world.server()
    create = {"action": "create", "schedule": "in 30m", "prompt": "Remind me to stretch."}
    llm.script(Reply.tool_calls([("cronjob", {**create, "name": "Stretch"})]), Reply.text("Set."))
    sid = request(server.base, "POST", "/api/session/new", {}).json["session"]["session_id"]
    started = request(
        server.base, "POST", "/api/chat/start", {"session_id": sid, "message": "in 30 minutes"}
    )
    assert read_events(server.base, started.json["stream_id"])[-1][0] == "stream_end"
    [job] = world.db.cron_jobs()
    assert (job["name"], job["deliver"], job["origin"]) == ("Stretch", "web", f"agent:{sid}")
    assert job["next_run_at"] == T0 + 1800
    assert "Scheduled job " + job["id"] in llm.requests[-1]["messages"][-1]["content"]

    llm.script(Reply.text("Time to stretch."))
    world.clock.set(T0 + 1800)
    [run] = world.wait_runs(job, 1)
    assert run["result"] == "Time to stretch."
    offered = {tool["function"]["name"] for tool in llm.requests[-1]["tools"]}
    assert "cronjob" not in offered and "terminal" in offered

    to_hook = {**create, "deliver": "webhook:nightly"}
    llm.script(Reply.tool_calls([("cronjob", to_hook)]), Reply.text("Set, with a warning."))
    started = request(
        server.base, "POST", "/api/chat/start", {"session_id": sid, "message": "to my hook"}
    )
    assert read_events(server.base, started.json["stream_id"])[-1][0] == "stream_end"
    said = llm.requests[-1]["messages"][-1]["content"]
    assert said.endswith(
        " Warning: answers cannot reach it yet: the webhook 'nightly' has no callback_url."
    )
