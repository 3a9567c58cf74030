"""Names reserved for the store's own files (`_index.json`) are never session ids.

Session files whose names start with `_` are never sessions, so every route refuses such an id
as bad input: it must neither read the sidebar index as a session (a server error) nor delete
it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

from api.validation import is_valid_session_id
from hermes_agent.agent import new_session_id
from tests.conftest import TEST_BASE, TEST_STATE_DIR
from tests.support import GET_ROUTES_WITH_ID, POST_ROUTES_WITH_ID, Reply, request

INDEX_FILE = TEST_STATE_DIR / "sessions" / "_index.json"
RESERVED_IDS = ["_index", "_anything", "_", "__", "_1", "_index_json"]


def get(path: str, **query: object) -> Reply:
    return request(TEST_BASE, "GET", path + "?" + urlencode(query))


def post(path: str, body: object) -> Reply:
    return request(TEST_BASE, "POST", path, body)


def indexed_ids() -> set[str]:
    """The session ids in `_index.json`; fails if it is gone or is not a list of rows."""
    rows = json.loads(INDEX_FILE.read_bytes())
    assert isinstance(rows, list)
    return {row["session_id"] for row in rows}


@pytest.fixture(scope="module")
def indexed_session(live_server) -> Iterator[str]:
    """The id of one real session, once the index file lists it (it is written behind)."""
    messages = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    reply = post("/api/session/import", {"title": "Indexed", "messages": messages})
    assert reply.status == 200, reply.body
    sid = reply.json["session"]["session_id"]
    deadline = time.monotonic() + 5
    while sid not in indexed_ids():
        assert time.monotonic() < deadline, "the index never listed the new session"
        time.sleep(0.05)
    yield sid
    post("/api/session/delete", {"session_id": sid})


def assert_index_intact(sid: str, *, settle: bool = False) -> None:
    if settle:
        time.sleep(0.5)  # past the writer's flush interval, so a rewrite would have happened
    assert sid in indexed_ids()


def assert_invalid_id(reply: Reply) -> None:
    assert reply.status == 400, (reply.status, reply.body)
    assert reply.json == {"error": "Invalid session_id"}


@pytest.mark.parametrize("reserved", RESERVED_IDS)
@pytest.mark.parametrize("path", GET_ROUTES_WITH_ID)
def test_reserved_session_id_in_a_query_is_400(indexed_session, path, reserved):
    assert_invalid_id(get(path, session_id=reserved))
    assert_index_intact(indexed_session)


@pytest.mark.parametrize("reserved", RESERVED_IDS)
@pytest.mark.parametrize("path", sorted(POST_ROUTES_WITH_ID))
def test_reserved_session_id_in_a_body_is_400(indexed_session, path, reserved):
    assert_invalid_id(post(path, {"session_id": reserved, **POST_ROUTES_WITH_ID[path]}))
    assert_index_intact(indexed_session)


def test_deleting_the_index_by_name_is_refused_and_the_sidebar_keeps_its_rows(indexed_session):
    assert_invalid_id(post("/api/session/delete", {"session_id": "_index"}))
    assert_index_intact(indexed_session, settle=True)
    listed = get("/api/sessions", limit=1000).json["sessions"]
    assert "Indexed" in {row["title"] for row in listed}


@pytest.mark.parametrize("reserved", ["_index", "_anything"])
def test_reserved_project_id_filter_is_400(reserved):
    reply = get("/api/sessions", project_id=reserved)
    assert reply.status == 400, reply.body
    assert reply.json == {"error": "Invalid project_id"}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/projects/rename", {"project_id": "_index", "name": "n"}),
        ("/api/projects/delete", {"project_id": "_index"}),
        ("/api/session/move", {"session_id": "nosuchsession0", "project_id": "_index"}),
    ],
)
def test_reserved_project_id_is_a_client_error_never_a_server_error(indexed_session, path, body):
    reply = post(path, body)
    assert 400 <= reply.status < 500, (reply.status, reply.body)
    assert isinstance(reply.json.get("error"), str)
    assert_index_intact(indexed_session)


def test_every_id_the_server_makes_passes_the_validator(cleanup_test_sessions):
    new = post("/api/session/new", {}).json["session"]["session_id"]
    imported = post("/api/session/import", {"messages": []}).json["session"]["session_id"]
    cleanup_test_sessions.extend([new, imported])
    project = post("/api/projects/create", {"name": "Ids"}).json["project"]["project_id"]
    post("/api/projects/delete", {"project_id": project})
    made_elsewhere = [new_session_id() for _ in range(20)]
    for made in [new, imported, project, *made_elsewhere]:
        assert is_valid_session_id(made), made
        assert not made.startswith("_"), made
