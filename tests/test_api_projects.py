"""The project endpoints over real HTTP: the list, create, rename, delete, and projects.json."""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

import pytest

from tests.conftest import TEST_BASE, TEST_STATE_DIR
from tests.support import Reply, request

PROJECTS_FILE = TEST_STATE_DIR / "projects.json"
SESSIONS_DIR = TEST_STATE_DIR / "sessions"
COLOR = re.compile(r"#[0-9a-fA-F]{3,8}")


def get(path: str, **query: object) -> Reply:
    return request(TEST_BASE, "GET", path + ("?" + urlencode(query) if query else ""))


def post(path: str, body: object = None, **kwargs) -> Reply:
    return request(TEST_BASE, "POST", path, body, **kwargs)


def assert_error(reply: Reply, status: int, text: str | None = None) -> None:
    assert reply.status == status, (reply.status, reply.body)
    assert isinstance(reply.json.get("error"), str) and reply.json["error"]
    if text is not None:
        assert text in reply.json["error"], reply.json["error"]


def listed() -> dict[str, dict]:
    reply = get("/api/projects")
    assert reply.status == 200
    return {p["project_id"]: p for p in reply.json["projects"]}


def stored() -> dict[str, dict]:
    if not PROJECTS_FILE.exists():
        return {}
    return {p["project_id"]: p for p in json.loads(PROJECTS_FILE.read_bytes())}


@pytest.fixture
def projects():
    """A list that tests append project ids to; those projects are deleted afterwards."""
    created: list[str] = []
    yield created
    for pid in created:
        post("/api/projects/delete", {"project_id": pid})


def create(created: list, **body: object) -> dict:
    reply = post("/api/projects/create", body)
    assert reply.status == 200, reply.body
    assert reply.json["ok"] is True
    project = reply.json["project"]
    created.append(project["project_id"])
    return project


def import_session(created: list, text: str) -> str:
    reply = post("/api/session/import", {"messages": [{"role": "user", "content": text}]})
    assert reply.status == 200, reply.body
    sid = reply.json["session"]["session_id"]
    created.append(sid)
    return sid


def session_on_disk(sid: str) -> dict:
    return json.loads((SESSIONS_DIR / f"{sid}.json").read_bytes())


# ── list and create ──────────────────────────────────────────────────────────────────────
def test_projects_list_is_a_list_of_projects(projects):
    create(projects, name="Listed")
    reply = get("/api/projects")
    assert reply.status == 200
    assert isinstance(reply.json["projects"], list)
    for project in reply.json["projects"]:
        assert set(project) >= {"project_id", "name", "color", "created_at"}


def test_create_project_returns_it_lists_it_and_stores_it(projects):
    project = create(projects, name="Garden plans", color="#3a7")
    assert re.fullmatch(r"[0-9a-z_]{1,64}", project["project_id"])
    assert project["name"] == "Garden plans"
    assert project["color"] == "#3a7"
    assert isinstance(project["created_at"], float)
    assert listed()[project["project_id"]] == project
    assert stored()[project["project_id"]] == project


def test_create_project_without_a_color_gets_a_valid_default(projects):
    project = create(projects, name="No colour")
    assert COLOR.fullmatch(project["color"])
    assert stored()[project["project_id"]]["color"] == project["color"]


@pytest.mark.parametrize("color", ["#abc", "#A1B2C3", "#aabbccdd"])
def test_create_project_accepts_hex_colors_of_3_to_8_digits(projects, color):
    assert create(projects, name="Coloured", color=color)["color"] == color


def test_create_project_gives_each_project_its_own_id(projects):
    first = create(projects, name="Same name")
    second = create(projects, name="Same name")
    assert first["project_id"] != second["project_id"]
    assert {first["project_id"], second["project_id"]} <= set(listed())


@pytest.mark.parametrize("color", ["red", "#12", "#ggg", "123456", "#123456789", "rgb(1,2,3)", 123])
def test_create_project_refuses_a_bad_color_and_stores_nothing(color):
    before = stored()
    reply = post("/api/projects/create", {"name": "Bad colour", "color": color})
    assert_error(reply, 400)
    if isinstance(color, str):
        assert reply.json["error"] == "Invalid color format"
    assert stored() == before


@pytest.mark.parametrize(
    "body",
    [{"name": ""}, {"name": "   "}, {}, {"name": None}],
    ids=["empty", "blank", "missing", "null"],
)
def test_create_project_refuses_an_empty_name_and_stores_nothing(body):
    before = stored()
    reply = post("/api/projects/create", body)
    assert_error(reply, 400, "name")
    assert stored() == before


# ── rename ───────────────────────────────────────────────────────────────────────────────
def test_rename_project_changes_name_and_color_in_the_file(projects):
    project = create(projects, name="Before", color="#111111")
    pid = project["project_id"]
    reply = post("/api/projects/rename", {"project_id": pid, "name": "After", "color": "#222"})
    assert reply.status == 200
    assert reply.json["ok"] is True
    assert reply.json["project"] == {**project, "name": "After", "color": "#222"}
    assert stored()[pid] == reply.json["project"]
    assert listed()[pid] == reply.json["project"]


def test_rename_project_without_a_color_keeps_its_color(projects):
    pid = create(projects, name="Before", color="#123")["project_id"]
    reply = post("/api/projects/rename", {"project_id": pid, "name": "After"})
    assert reply.status == 200
    assert reply.json["project"]["color"] == "#123"
    assert stored()[pid]["name"] == "After"
    assert stored()[pid]["color"] == "#123"


def test_rename_of_an_unknown_project_is_404():
    reply = post("/api/projects/rename", {"project_id": "nosuchproject", "name": "x"})
    assert_error(reply, 404, "Project not found")


@pytest.mark.parametrize(
    ("change", "text"),
    [({"name": ""}, "name"), ({"name": "ok", "color": "blue"}, "Invalid color format")],
    ids=["empty-name", "bad-color"],
)
def test_rename_project_refuses_bad_input_and_keeps_the_project(projects, change, text):
    project = create(projects, name="Stable", color="#abc")
    reply = post("/api/projects/rename", {"project_id": project["project_id"], **change})
    assert_error(reply, 400, text)
    assert stored()[project["project_id"]] == project


def test_rename_project_without_an_id_is_400():
    assert_error(post("/api/projects/rename", {"name": "x"}), 400, "project_id")


# ── delete ───────────────────────────────────────────────────────────────────────────────
def test_delete_project_removes_it_from_the_list_and_the_file(projects):
    pid = create(projects, name="Short-lived")["project_id"]
    reply = post("/api/projects/delete", {"project_id": pid})
    assert reply.status == 200
    assert reply.json == {"ok": True}
    assert pid not in listed()
    assert pid not in stored()


def test_deleting_a_project_unassigns_its_sessions_and_leaves_others(
    projects, cleanup_test_sessions
):
    doomed = create(projects, name="Doomed")["project_id"]
    kept = create(projects, name="Kept")["project_id"]
    in_doomed = [import_session(cleanup_test_sessions, t) for t in ("one", "two")]
    in_kept = import_session(cleanup_test_sessions, "three")
    for sid in in_doomed:
        assert post("/api/session/move", {"session_id": sid, "project_id": doomed}).status == 200
    assert post("/api/session/move", {"session_id": in_kept, "project_id": kept}).status == 200

    assert post("/api/projects/delete", {"project_id": doomed}).json == {"ok": True}

    for sid in in_doomed:
        assert get("/api/session", session_id=sid).json["session"]["project_id"] is None
        assert session_on_disk(sid)["project_id"] is None
        assert session_on_disk(sid)["messages"]
    assert get("/api/session", session_id=in_kept).json["session"]["project_id"] == kept
    assert session_on_disk(in_kept)["project_id"] == kept
    rows = {r["session_id"]: r for r in get("/api/sessions").json["sessions"]}
    assert all(rows[sid]["project_id"] is None for sid in in_doomed)


def test_delete_of_an_unknown_project_is_404():
    reply = post("/api/projects/delete", {"project_id": "nosuchproject"})
    assert reply.status == 404
    assert reply.json == {"error": "Project not found"}


def test_deleting_a_project_twice_is_404_the_second_time(projects):
    pid = create(projects, name="Twice")["project_id"]
    assert post("/api/projects/delete", {"project_id": pid}).status == 200
    assert_error(post("/api/projects/delete", {"project_id": pid}), 404, "Project not found")


def test_delete_project_without_an_id_is_400():
    assert_error(post("/api/projects/delete", {}), 400, "project_id")


# ── sessions started in a project ────────────────────────────────────────────────────────


def test_a_session_started_with_a_project_id_belongs_to_that_project(
    projects, cleanup_test_sessions
):
    pid = create(projects, name="Started inside")["project_id"]
    reply = post("/api/session/new", {"project_id": pid})
    assert reply.status == 200, reply.body
    session = reply.json["session"]
    cleanup_test_sessions.append(session["session_id"])
    assert session["project_id"] == pid
    assert (
        get("/api/session", session_id=session["session_id"]).json["session"]["project_id"] == pid
    )


def test_starting_a_session_in_an_unknown_project_is_404_and_a_bad_id_400():
    assert_error(
        post("/api/session/new", {"project_id": "nosuchproject"}), 404, "Project not found"
    )
    assert_error(post("/api/session/new", {"project_id": "Not An Id"}), 400)
