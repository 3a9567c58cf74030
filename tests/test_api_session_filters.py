"""The sidebar list and its search, narrowed by archived state and by project, over HTTP."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

import pytest

from tests.conftest import TEST_BASE
from tests.support import Reply, request


def get(path: str, **query: object) -> Reply:
    return request(TEST_BASE, "GET", path + ("?" + urlencode(query) if query else ""))


def post(path: str, body: object) -> Reply:
    return request(TEST_BASE, "POST", path, body)


def imported(created: list, text: str) -> str:
    reply = post("/api/session/import", {"messages": [{"role": "user", "content": text}]})
    assert reply.status == 200, reply.body
    sid = reply.json["session"]["session_id"]
    created.append(sid)
    return sid


def listed(**query: object) -> list[str]:
    reply = get("/api/sessions", **query)
    assert reply.status == 200, reply.body
    return [row["session_id"] for row in reply.json["sessions"]]


def found(q: str, **query: object) -> list[str]:
    reply = get("/api/sessions/search", q=q, **query)
    assert reply.status == 200, reply.body
    return [row["session_id"] for row in reply.json["sessions"]]


@pytest.fixture
def project():
    reply = post("/api/projects/create", {"name": "Filter " + uuid.uuid4().hex[:6]})
    assert reply.status == 200, reply.body
    pid = reply.json["project"]["project_id"]
    yield pid
    post("/api/projects/delete", {"project_id": pid})


def test_archived_sessions_are_listed_by_default_and_left_out_with_archived_0(
    cleanup_test_sessions,
):
    kept = imported(cleanup_test_sessions, "kept in view")
    hidden = imported(cleanup_test_sessions, "put away")
    assert post("/api/session/archive", {"session_id": hidden}).status == 200

    assert {kept, hidden} <= set(listed())
    assert {kept, hidden} <= set(listed(archived=1))
    without = get("/api/sessions", archived=0).json
    ids = [row["session_id"] for row in without["sessions"]]
    assert kept in ids and hidden not in ids
    assert without["total"] == len(ids)
    assert not any(row["archived"] for row in without["sessions"])


def test_archived_only_lists_nothing_but_archived_sessions(cleanup_test_sessions):
    kept = imported(cleanup_test_sessions, "still active")
    hidden = imported(cleanup_test_sessions, "archived one")
    post("/api/session/archive", {"session_id": hidden})
    reply = get("/api/sessions", archived="only").json
    ids = [row["session_id"] for row in reply["sessions"]]
    assert hidden in ids and kept not in ids
    assert all(row["archived"] for row in reply["sessions"])

    post("/api/session/archive", {"session_id": hidden, "archived": False})
    assert hidden not in listed(archived="only")
    assert hidden in listed(archived=0)


def test_project_id_lists_only_that_projects_sessions_and_pages_them(
    cleanup_test_sessions, project
):
    inside = [imported(cleanup_test_sessions, f"inside {i}") for i in range(3)]
    outside = imported(cleanup_test_sessions, "outside")
    for sid in inside:
        assert post("/api/session/move", {"session_id": sid, "project_id": project}).status == 200

    reply = get("/api/sessions", project_id=project).json
    assert sorted(row["session_id"] for row in reply["sessions"]) == sorted(inside)
    assert reply["total"] == 3
    assert outside not in listed(project_id=project)
    page = get("/api/sessions", project_id=project, limit=2, offset=2).json
    assert len(page["sessions"]) == 1 and page["total"] == 3


def test_project_and_archived_filters_combine(cleanup_test_sessions, project):
    active, stored = (imported(cleanup_test_sessions, t) for t in ("active", "stored"))
    for sid in (active, stored):
        post("/api/session/move", {"session_id": sid, "project_id": project})
    post("/api/session/archive", {"session_id": stored})
    assert listed(project_id=project, archived=0) == [active]
    assert listed(project_id=project, archived="only") == [stored]


def test_search_is_narrowed_by_archived_and_project(cleanup_test_sessions, project):
    token = "pangolin" + uuid.uuid4().hex[:8]
    loose = imported(cleanup_test_sessions, f"loose {token}")
    filed = imported(cleanup_test_sessions, f"filed {token}")
    shelved = imported(cleanup_test_sessions, f"shelved {token}")
    post("/api/session/move", {"session_id": filed, "project_id": project})
    post("/api/session/archive", {"session_id": shelved})

    assert sorted(found(token)) == sorted([loose, filed, shelved])
    assert sorted(found(token, archived=0)) == sorted([loose, filed])
    assert found(token, archived="only") == [shelved]
    assert found(token, project_id=project) == [filed]


def test_an_unknown_project_is_404_and_a_malformed_one_400(project):
    for path in ("/api/sessions", "/api/sessions/search"):
        missing = get(path, q="x", project_id="nosuchproject")
        assert missing.status == 404, missing.body
        assert missing.json["error"] == "Project not found"
        bad = get(path, q="x", project_id="../etc")
        assert bad.status == 400, bad.body
        assert bad.json["error"] == "Invalid project_id"


@pytest.mark.parametrize("value", ["2", "yes", ""])
def test_an_unknown_archived_mode_is_400(value):
    for path in ("/api/sessions", "/api/sessions/search"):
        reply = get(path, archived=value)
        assert reply.status == 400, (path, reply.body)
        assert isinstance(reply.json.get("error"), str) and reply.json["error"]
