"""`/openapi.json` tells the truth: every reply has its real schema and media type, every
operation lists the errors it can answer with, and every session id carries its pattern.

The schema is read from the live server, as clients read it. Whether the replies really match
it is what `test_schemathesis.py` checks, by fuzzing the server against this schema.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from api.validation import SESSION_ID_PATTERN
from tests.conftest import TEST_BASE
from tests.support import request

ERROR_REF = {"$ref": "#/components/schemas/Error"}
SHARED_ERRORS = {"400", "401", "403", "413", "421"}


@pytest.fixture(scope="module")
def schema(live_server) -> dict[str, Any]:
    reply = request(TEST_BASE, "GET", "/openapi.json")
    assert reply.status == 200
    return reply.json


def operations(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    ]


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    reference = node.get("$ref", "")
    return schema["components"]["schemas"][reference.rpartition("/")[2]] if reference else node


def test_no_reply_is_documented_as_a_bare_string_of_json(schema):
    bare = [
        f"{label} {status}"
        for label, operation in operations(schema)
        for status, reply in operation["responses"].items()
        if reply.get("content", {}).get("application/json", {}).get("schema")
        in ({"type": "string"}, {})
    ]
    assert bare == []


def test_every_success_reply_names_its_media_type_and_shape(schema):
    for label, operation in operations(schema):
        content = operation["responses"]["200"]["content"]
        assert content, label
        for media_type, media in content.items():
            assert media.get("schema") or media.get("itemSchema"), (label, media_type)


@pytest.mark.parametrize(
    ("path", "media_types"),
    [
        ("/api/chat/stream", {"text/event-stream"}),
        ("/api/session/export", {"application/json", "text/markdown"}),
        ("/api/sessions/export", {"application/zip"}),
        ("/api/skill/export", {"application/zip"}),
        ("/api/session", {"application/json"}),
        (
            "/api/workspace/file",
            {
                "text/plain",
                "image/png",
                "image/jpeg",
                "image/gif",
                "image/webp",
                "application/octet-stream",
            },
        ),
    ],
)
def test_downloads_and_streams_declare_their_real_media_types(schema, path, media_types):
    assert set(schema["paths"][path]["get"]["responses"]["200"]["content"]) == media_types


def test_every_operation_lists_the_errors_any_request_can_meet_with_the_error_schema(schema):
    for label, operation in operations(schema):
        responses = operation["responses"]
        assert set(responses) >= SHARED_ERRORS, label
        assert "422" not in responses, label
        for status, reply in responses.items():
            if status.startswith(("4", "5")):
                assert reply["content"]["application/json"]["schema"] == ERROR_REF, (label, status)
    assert schema["paths"]["/health"]["get"]["responses"]["421"]["description"] == (
        "Host not allowed"
    )


@pytest.mark.parametrize(
    ("label", "statuses"),
    [
        ("POST /api/session/update", {"404", "409"}),
        ("POST /api/chat/start", {"404", "409"}),
        ("POST /api/session/undo", {"404", "409"}),
        ("GET /api/session", {"404"}),
        ("GET /api/workspace/file", {"403", "404"}),
        ("POST /api/workspace/upload", {"403", "404", "409", "413"}),
        ("POST /api/auth/login", {"429"}),
        ("POST /api/auth/password", {"409", "429"}),
        ("GET /api/models", {"502"}),
        ("GET /api/skill", {"404"}),
        ("GET /api/skill/export", {"404"}),
        ("POST /api/skill/delete", {"404"}),
        ("POST /api/skill/enable", {"404"}),
        ("POST /api/skills/import", {"413"}),
        ("POST /api/settings/test", {"502"}),
    ],
)
def test_route_specific_errors_are_declared(schema, label, statuses):
    assert set(dict(operations(schema))[label]["responses"]) >= statuses


def test_the_error_schema_is_the_one_error_shape(schema):
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    assert error["properties"]["error"]["type"] == "string"


def test_every_session_id_parameter_and_body_field_carries_the_id_pattern(schema):
    found = []
    for label, operation in operations(schema):
        for parameter in operation.get("parameters", []):
            if parameter["name"] == "session_id":
                assert parameter["schema"]["pattern"] == SESSION_ID_PATTERN, label
                assert parameter["required"] is True, label
                found.append(label)
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body:
            fields = resolve(schema, body["schema"]).get("properties", {})
            if "session_id" in fields:
                assert fields["session_id"]["pattern"] == SESSION_ID_PATTERN, label
                found.append(label)
    assert len(found) >= 20, found


def test_the_id_pattern_refuses_reserved_and_path_like_names():
    pattern = re.compile(SESSION_ID_PATTERN)
    assert pattern.fullmatch("20250101_120000_abcdef")
    assert pattern.fullmatch("0a1b2c3d4e5f")
    for bad in ("_index", "_", "a-b", "../x", "A", "", "a" * 65):
        assert not pattern.fullmatch(bad), bad


def test_new_sessions_link_their_id_to_the_routes_that_take_one(schema):
    links = schema["paths"]["/api/session/new"]["post"]["responses"]["200"]["links"]
    update = links["post_api_session_update"]
    assert update["operationRef"] == "#/paths/~1api~1session~1update/post"
    assert update["requestBody"] == {"session_id": "$response.body#/session/session_id"}
    assert links["get_api_session"]["parameters"] == {
        "query.session_id": "$response.body#/session/session_id"
    }


@pytest.mark.parametrize("stamp", ["inf", "-inf", "nan", float("inf"), "soon"])
def test_unusable_message_times_never_reach_a_reply_as_null(cleanup_test_sessions, stamp):
    messages = [{"role": "user", "content": "when?", "_ts": stamp}]
    reply = request(TEST_BASE, "POST", "/api/session/import", {"messages": messages})
    assert reply.status == 200, reply.body
    session = reply.json["session"]
    cleanup_test_sessions.append(session["session_id"])
    assert session["last_message_at"] == session["updated_at"]
    listed = request(TEST_BASE, "GET", "/api/sessions").json["sessions"]
    row = next(r for r in listed if r["session_id"] == session["session_id"])
    assert isinstance(row["last_message_at"], float)


@pytest.mark.parametrize(
    ("path", "allowed"),
    [("/api/settings", {"GET", "POST"}), ("/api/session/new", {"POST"}), ("/health", {"GET"})],
)
def test_a_wrong_method_is_405_naming_the_documented_methods(schema, path, allowed):
    reply = request(TEST_BASE, "PUT", path, {})
    assert reply.status == 405
    advertised = {m.strip() for m in reply.headers["allow"].split(",")} - {"HEAD"}
    assert advertised == allowed == {m.upper() for m in schema["paths"][path]}
