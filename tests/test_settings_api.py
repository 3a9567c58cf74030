"""Provider settings over HTTP, side questions and background tasks, against a scripted
provider configured through config.yaml (so the settings endpoint can change it)."""

from __future__ import annotations

import json
import time

import pytest
import yaml

from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.support import ServerProcess, fake_provider_env, read_events, request


@pytest.fixture(scope="module")
def fake():
    with FakeOpenAI() as server:
        yield server


@pytest.fixture(scope="module")
def server(fake, tmp_path_factory):
    root = tmp_path_factory.mktemp("settings-api")
    home = root / "hermes-home"
    home.mkdir()
    config = {
        "provider": "openai",
        "base_url": fake.base_url,
        "api_key": "sk-test-0123456789abcdef",
        "model": "fake-model",
        "max_retries": 0,
        "llm_titles": False,
    }
    (home / "config.yaml").write_text(yaml.safe_dump(config))
    process = ServerProcess(root, extra_env={"HERMES_WEBUI_DEFAULT_MODEL": ""})
    process.start()
    yield process
    process.stop()


@pytest.fixture(autouse=True)
def reset_fake(fake):
    fake.script()
    fake.default = None
    yield


def _session(server) -> str:
    return request(server.base, "POST", "/api/session/new", {}).json["session"]["session_id"]


def _chat(server, sid: str, message: str) -> list[tuple[str, dict]]:
    started = request(
        server.base, "POST", "/api/chat/start", {"session_id": sid, "message": message}
    )
    assert started.status == 200, started.json
    return read_events(server.base, started.json["stream_id"])


def test_settings_never_return_the_api_key(server):
    data = request(server.base, "GET", "/api/settings").json
    assert data["provider"] == "openai" and data["model"] == "fake-model"
    assert data["api_key"] is None and data["api_key_set"] is True
    assert "0123456789abcdef" not in json.dumps(data)


def test_settings_from_config_yaml_are_not_marked_as_fixed_by_the_environment(server):
    assert request(server.base, "GET", "/api/settings").json["from_environment"] == []


def test_settings_fixed_by_the_environment_are_named(tmp_path, fake):
    process = ServerProcess(tmp_path, extra_env=fake_provider_env(fake))
    process.start()
    try:
        data = request(process.base, "GET", "/api/settings").json
    finally:
        process.stop()
    assert data["from_environment"] == ["api_key", "base_url", "llm_titles", "model", "provider"]
    assert data["api_key"] is None and data["api_key_set"] is True


def test_changing_the_model_is_saved_and_used_by_the_next_turn(server, fake):
    reply = request(server.base, "POST", "/api/settings", {"model": "fake-model-2"})
    assert reply.status == 200 and reply.json["model"] == "fake-model-2"
    saved = yaml.safe_load((server.root / "hermes-home" / "config.yaml").read_text())
    assert saved["model"] == "fake-model-2"
    fake.script(Reply.text("from model two"))
    events = _chat(server, _session(server), "which model?")
    assert events[-1][0] == "stream_end"
    assert fake.requests[-1]["model"] == "fake-model-2"
    request(server.base, "POST", "/api/settings", {"model": "fake-model"})


def test_a_new_api_key_is_stored_but_not_echoed(server):
    reply = request(server.base, "POST", "/api/settings", {"api_key": "sk-brand-new-secret-key-42"})
    assert reply.status == 200
    assert "brand-new" not in reply.body.decode()
    saved = yaml.safe_load((server.root / "hermes-home" / "config.yaml").read_text())
    assert saved["api_key"] == "sk-brand-new-secret-key-42"


def test_the_approval_policy_cannot_be_changed_over_http(server):
    reply = request(server.base, "POST", "/api/settings", {"approval_mode": "off"})
    assert reply.status == 200
    assert request(server.base, "GET", "/api/settings").json["approval_mode"] == "ask"
    saved = yaml.safe_load((server.root / "hermes-home" / "config.yaml").read_text())
    assert "approval_mode" not in saved


def test_invalid_settings_are_refused_and_nothing_changes(server):
    before = (server.root / "hermes-home" / "config.yaml").read_text()
    assert request(server.base, "POST", "/api/settings", {"provider": "nope"}).status == 400
    bad_length = request(server.base, "POST", "/api/settings", {"context_length": 10})
    assert bad_length.status == 400 and "error" in bad_length.json
    assert (server.root / "hermes-home" / "config.yaml").read_text() == before


def test_models_are_listed_from_the_provider(server, fake):
    data = request(server.base, "GET", "/api/models").json
    assert data["provider"] == "openai"
    assert "fake-model" in data["models"]


def test_the_model_list_says_which_models_see_images(server, fake):
    sid = _session(server)
    fake.script(Reply.text("ok"))
    body = {"session_id": sid, "message": "hello", "model": "fake-vision-1"}
    started = request(server.base, "POST", "/api/chat/start", body)
    assert started.status == 200, started.json
    read_events(server.base, started.json["stream_id"])
    data = request(server.base, "GET", "/api/models").json
    # Neither the fake's model list nor the provider says: the `vision_models` patterns decide.
    assert data["vision"]["fake-vision-1"] is True
    assert data["vision"]["fake-model"] is False
    assert set(data["vision"]) == {*data["models"], data["current"]}


def test_the_connection_test_reports_success_and_failure_clearly(server, fake):
    fake.script(Reply.text("OK"))
    ok = request(server.base, "POST", "/api/settings/test", {})
    assert ok.status == 200 and ok.json["ok"] is True and ok.json["reply"] == "OK"
    fake.script(Reply.error(401, "Incorrect API key provided"))
    failed = request(server.base, "POST", "/api/settings/test", {})
    assert failed.status == 502
    assert failed.json["ok"] is False and failed.json["kind"] == "auth"
    assert "Incorrect API key" in failed.json["error"]


def test_a_side_question_answers_without_touching_the_parent(server, fake):
    sid = _session(server)
    fake.script(Reply.text("The capital is Paris."))
    _chat(server, sid, "Tell me about France")
    parent_file = server.state_dir / "sessions" / f"{sid}.json"
    before = parent_file.read_bytes()
    fake.script(Reply.text("It has about 2 million people."))
    started = request(
        server.base, "POST", "/api/btw", {"session_id": sid, "question": "Population?"}
    )
    assert started.status == 200 and started.json["parent_session_id"] == sid
    events = read_events(server.base, started.json["stream_id"])
    done = dict(events)["done"]
    assert done["answer"] == "It has about 2 million people." and done["ephemeral"] is True
    sent = [m["content"] for m in fake.requests[-1]["messages"] if m["role"] == "user"]
    assert sent == ["Tell me about France", "Population?"]
    assert parent_file.read_bytes() == before
    assert not (server.state_dir / "sessions" / f"{started.json['session_id']}.json").exists()


def test_a_background_task_runs_as_its_own_session_and_delivers_its_answer(server, fake):
    sid = _session(server)
    fake.script(Reply.text("Background result."))
    started = request(
        server.base, "POST", "/api/background", {"session_id": sid, "prompt": "Summarise the news"}
    )
    assert started.status == 200
    deadline, results = time.monotonic() + 10, []
    while not results and time.monotonic() < deadline:
        results = request(server.base, "GET", f"/api/background/status?session_id={sid}").json[
            "results"
        ]
        time.sleep(0.1)
    assert [r["answer"] for r in results] == ["Background result."]
    assert results[0]["task_id"] == started.json["task_id"]
    again = request(server.base, "GET", f"/api/background/status?session_id={sid}").json
    assert again["results"] == []
    task = request(server.base, "GET", f"/api/session?session_id={started.json['session_id']}").json
    assert task["session"]["title"] == "bg: Summarise the news"


@pytest.mark.parametrize(
    ("path", "body"),
    [("/api/btw", {"question": "  "}), ("/api/background", {"prompt": ""})],
)
def test_side_runs_need_text(server, path, body):
    sid = _session(server)
    reply = request(server.base, "POST", path, {"session_id": sid, **body})
    assert reply.status == 400 and "required" in reply.json["error"]
