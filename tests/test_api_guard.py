"""The API's guard rails over real HTTP: ids that could name paths, cross-origin writes,
garbage bodies, hostile strings, the error shape, the OpenAPI schema and security headers."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

import pytest

from api.app import create_app
from tests.conftest import TEST_BASE, TEST_ROOT, TEST_STATE_DIR
from tests.support import GET_ROUTES_WITH_ID, POST_ROUTES_WITH_ID, Reply, request

SESSIONS_DIR = TEST_STATE_DIR / "sessions"
PROJECTS_FILE = TEST_STATE_DIR / "projects.json"
EVIL = "http://evil.example"
PWNED = str(TEST_ROOT / "pwned-by-a-web-page")

PATH_LIKE_IDS = [
    "../etc/passwd",
    "a/b",
    "..",
    "ABC",
    "a-b",
    "a" * 65,
    "abc.json",
    "abc\x00",
    "/tmp/abc",
]

OTHER_POST_ROUTES = [
    "/api/session/new",
    "/api/session/import",
    "/api/projects/create",
    "/api/projects/rename",
    "/api/projects/delete",
    "/api/chat/cancel",
    "/api/settings",
    "/api/auth/login",
    "/api/auth/password",
    "/api/memory",
    "/api/memory/clear",
    "/api/skill/save",
    "/api/skill/delete",
    "/api/skill/enable",
    "/api/mcp/server/save",
    "/api/mcp/server/enable",
    "/api/mcp/server/delete",
    "/api/mcp/server/test",
    "/api/cron/job/save",
    "/api/cron/job/pause",
    "/api/cron/job/delete",
    "/api/cron/job/run",
]
# Routes that take no body at all (a body sent anyway is ignored).
BODYLESS_POST_ROUTES = ["/api/settings/test", "/api/auth/logout"]
# Routes whose body is a multipart form or a raw zip (tests/test_attachments_api.py,
# tests/test_workspace_api.py and tests/test_skills_api.py cover them).
MULTIPART_POST_ROUTES = [
    "/api/upload",
    "/api/sessions/import",
    "/api/workspace/upload",
    "/api/skills/import",
]
ATTACHMENT_ROUTES = ["/api/attachment/{attachment_id}", "/api/attachment/{attachment_id}/thumbnail"]
POST_ROUTES = sorted([*POST_ROUTES_WITH_ID, *OTHER_POST_ROUTES])
GET_ROUTES = sorted(
    [
        *GET_ROUTES_WITH_ID,
        "/health",
        "/api/sessions",
        "/api/sessions/search",
        "/api/sessions/export",
        "/api/projects",
        "/api/chat/stream",
        "/api/chat/stream/status",
        "/api/chat/cancel",
        "/api/settings",
        "/api/models",
        "/api/auth/status",
        "/api/memory",
        "/api/skills",
        "/api/skill",
        "/api/skill/export",
        "/api/tools",
        "/api/cron/jobs",
        "/api/cron/runs",
        "/api/cron/preview",
    ]
)


def get(path: str, **query: object) -> Reply:
    return request(TEST_BASE, "GET", path + ("?" + urlencode(query) if query else ""))


def post(path: str, body: object = None, **kwargs) -> Reply:
    return request(TEST_BASE, "POST", path, body, **kwargs)


def assert_json_error(reply: Reply, status: int, text: str | None = None) -> None:
    assert reply.status == status, (reply.status, reply.body)
    assert reply.headers.get("content-type", "").startswith("application/json")
    body = reply.json
    assert isinstance(body, dict)
    assert isinstance(body.get("error"), str) and body["error"]
    if text is not None:
        assert body["error"] == text


def files_under(root: Path) -> set[Path]:
    """Every file under `root`, leaving out in-flight temp files and server logs."""
    return {
        p for p in root.rglob("*") if p.is_file() and ".tmp." not in p.name and p.suffix != ".log"
    }


def import_session(created: list, title: str = "Guarded") -> str:
    messages = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    reply = post("/api/session/import", {"title": title, "messages": messages})
    assert reply.status == 200, reply.body
    sid = reply.json["session"]["session_id"]
    created.append(sid)
    return sid


def session_bytes(sid: str) -> bytes:
    return (SESSIONS_DIR / f"{sid}.json").read_bytes()


def lower_keys(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


# ── ids that could name a path ───────────────────────────────────────────────────────────
@pytest.mark.parametrize("bad_id", PATH_LIKE_IDS)
@pytest.mark.parametrize("path", GET_ROUTES_WITH_ID)
def test_path_like_session_id_in_a_query_is_400(path, bad_id):
    assert_json_error(get(path, session_id=bad_id), 400, "Invalid session_id")


@pytest.mark.parametrize("bad_id", PATH_LIKE_IDS)
@pytest.mark.parametrize("path", sorted(POST_ROUTES_WITH_ID))
def test_path_like_session_id_in_a_body_is_400(path, bad_id):
    reply = post(path, {"session_id": bad_id, **POST_ROUTES_WITH_ID[path]})
    assert_json_error(reply, 400, "Invalid session_id")


def test_path_like_session_ids_create_no_file_anywhere():
    target = TEST_STATE_DIR / "etc"
    target.mkdir(exist_ok=True)
    before = files_under(TEST_ROOT)
    for bad_id in PATH_LIKE_IDS:
        for path in GET_ROUTES_WITH_ID:
            assert get(path, session_id=bad_id).status == 400
        for path, extra in POST_ROUTES_WITH_ID.items():
            assert post(path, {"session_id": bad_id, **extra}).status == 400
    assert files_under(TEST_ROOT) - before == set()
    assert not (TEST_STATE_DIR / "etc" / "passwd.json").exists()
    assert not Path("/etc/passwd.json").exists()


def test_import_ignores_a_path_like_session_id(cleanup_test_sessions):
    before = files_under(TEST_ROOT)
    reply = post(
        "/api/session/import",
        {"session_id": "../../escaped", "messages": [{"role": "user", "content": "x"}]},
    )
    assert reply.status == 200
    sid = reply.json["session"]["session_id"]
    cleanup_test_sessions.append(sid)
    new_files = files_under(TEST_ROOT) - before
    assert SESSIONS_DIR / f"{sid}.json" in new_files
    assert all(p.parent == SESSIONS_DIR for p in new_files)


# ── same-origin writes ───────────────────────────────────────────────────────────────────
def test_cross_origin_post_is_403_and_changes_nothing(cleanup_test_sessions):
    sid = import_session(cleanup_test_sessions, title="Untouched")
    before_session = session_bytes(sid)
    job = post("/api/cron/job/save", {"prompt": "Stay put.", "schedule": "0 8 1 1 *"}).json["job"]
    jobs_before = get("/api/cron/jobs").json["jobs"]
    before_files = files_under(TEST_ROOT)
    bodies = {path: {"session_id": sid, **extra} for path, extra in POST_ROUTES_WITH_ID.items()}
    bodies |= {
        "/api/session/new": {},
        "/api/session/import": {"messages": [{"role": "user", "content": "x"}]},
        "/api/projects/create": {"name": "Evil"},
        "/api/projects/rename": {"project_id": "p", "name": "Evil"},
        "/api/projects/delete": {"project_id": "p"},
        "/api/chat/cancel": {"stream_id": "s"},
        "/api/settings": {"model": "evil"},
        "/api/settings/test": {},
        "/api/auth/login": {"password": "x"},
        "/api/auth/password": {"new": "a password from elsewhere"},
        "/api/auth/logout": {},
        "/api/memory": {"target": "user", "text": "evil"},
        "/api/memory/clear": {},
        "/api/skill/save": {"name": "evil", "content": "---\nname: evil\n---\n"},
        "/api/skill/delete": {"name": "commit-message"},
        "/api/skill/enable": {"name": "commit-message", "enabled": False},
        # A page that could add an MCP server could run any program: the worst of them all.
        "/api/mcp/server/save": {"name": "evil", "server": {"command": "touch", "args": [PWNED]}},
        "/api/mcp/server/enable": {"name": "evil", "enabled": True},
        "/api/mcp/server/delete": {"name": "evil"},
        "/api/mcp/server/test": {"name": "evil", "server": {"command": "touch", "args": [PWNED]}},
        # Nor may it make a job (a prompt run unattended, on a schedule) or run one.
        "/api/cron/job/save": {"prompt": f"touch {PWNED}", "schedule": "every 1m"},
        "/api/cron/job/pause": {"id": job["id"], "paused": True},
        "/api/cron/job/delete": {"id": job["id"]},
        "/api/cron/job/run": {"id": job["id"]},
    }
    assert sorted(bodies) == sorted([*POST_ROUTES, *BODYLESS_POST_ROUTES])
    for path, body in bodies.items():
        reply = post(path, body, headers={"Origin": EVIL})
        assert_json_error(reply, 403, "Cross-origin request rejected")
    assert session_bytes(sid) == before_session
    assert files_under(TEST_ROOT) == before_files
    assert not Path(PWNED).exists()
    assert get("/api/session", session_id=sid).json["session"]["title"] == "Untouched"
    assert get("/api/cron/jobs").json["jobs"] == jobs_before
    assert get("/api/cron/runs").json["runs"] == []
    assert post("/api/cron/job/delete", {"id": job["id"]}).status == 200


def test_cross_origin_referer_without_origin_is_403(cleanup_test_sessions):
    sid = import_session(cleanup_test_sessions, title="Untouched")
    before = session_bytes(sid)
    reply = post(
        "/api/session/rename",
        {"session_id": sid, "title": "Changed"},
        headers={"Referer": EVIL + "/page.html"},
    )
    assert_json_error(reply, 403, "Cross-origin request rejected")
    assert session_bytes(sid) == before


@pytest.mark.parametrize(
    "origin",
    ["null", "http://127.0.0.1:1", "http://evil.example:80", "file://"],
)
def test_other_origins_are_refused(cleanup_test_sessions, origin):
    sid = import_session(cleanup_test_sessions)
    before = session_bytes(sid)
    reply = post("/api/session/pin", {"session_id": sid}, headers={"Origin": origin})
    assert_json_error(reply, 403)
    assert session_bytes(sid) == before


@pytest.mark.parametrize(
    "headers",
    [{"Origin": TEST_BASE}, {"Referer": TEST_BASE + "/index.html?x=1"}, {}],
    ids=["same-origin", "same-origin-referer", "no-origin"],
)
def test_same_origin_or_originless_post_is_accepted(cleanup_test_sessions, headers):
    sid = import_session(cleanup_test_sessions, title="Before")
    reply = post("/api/session/rename", {"session_id": sid, "title": "After"}, headers=headers)
    assert reply.status == 200, reply.body
    assert json.loads(session_bytes(sid))["title"] == "After"


def test_cross_origin_reads_are_served():
    reply = request(TEST_BASE, "GET", "/api/projects", headers={"Origin": EVIL})
    assert reply.status == 200
    assert "projects" in reply.json


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "http://[::1"}, {"Referer": "http://[::1/page"}],
    ids=["origin", "referer"],
)
def test_malformed_origin_is_refused_with_403_not_a_server_error(headers):
    reply = post("/api/session/new", {}, headers=headers)
    assert_json_error(reply, 403)
    assert lower_keys(reply.headers).get("x-frame-options") == "DENY"


# ── unknown routes and wrong methods ─────────────────────────────────────────────────────
@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("path", ["/api/nope", "/api/session/nope", "/nope"])
def test_unknown_route_is_404_json(method, path):
    reply = request(TEST_BASE, method, path, {} if method == "POST" else None)
    assert_json_error(reply, 404, "not found")


BOTH_METHODS = {"/api/chat/cancel", "/api/settings", "/api/memory"}


@pytest.mark.parametrize("path", sorted(set(POST_ROUTES) - BOTH_METHODS))
def test_get_on_a_post_route_is_405_json(path):
    assert_json_error(get(path), 405, "method not allowed")


@pytest.mark.parametrize("path", MULTIPART_POST_ROUTES)
def test_get_on_a_multipart_route_is_405_json(path):
    assert_json_error(get(path), 405, "method not allowed")


@pytest.mark.parametrize("path", sorted(set(GET_ROUTES) - BOTH_METHODS))
def test_post_on_a_get_route_is_405_json(path):
    assert_json_error(post(path, {}), 405, "method not allowed")


# ── garbage bodies ───────────────────────────────────────────────────────────────────────
GARBAGE = {
    "malformed-json": (b'{"session_id": ', "application/json"),
    "json-list": (b'["session_id", "abc"]', "application/json"),
    "json-string": (b'"abc"', "application/json"),
    "json-number": (b"42", "application/json"),
    "empty": (b"", "application/json"),
    "null": (b"null", "application/json"),
    "not-utf8": (b"\xff\xfe\x00{", "application/json"),
    "plain-text": (b"session_id=abc", "text/plain"),
    "form": (b"session_id=abc", "application/x-www-form-urlencoded"),
}
EMPTY_IS_VALID = {"/api/session/new"}


@pytest.mark.parametrize("kind", sorted(GARBAGE))
@pytest.mark.parametrize("path", POST_ROUTES)
def test_garbage_body_is_400_json_never_422_or_500(cleanup_test_sessions, path, kind):
    data, content_type = GARBAGE[kind]
    before = files_under(SESSIONS_DIR)
    reply = post(path, data=data, headers={"Content-Type": content_type})
    assert reply.status not in (422, 500)
    if path in EMPTY_IS_VALID and kind in ("empty", "null"):
        assert reply.status == 200, reply.body
        cleanup_test_sessions.append(reply.json["session"]["session_id"])
        return
    assert_json_error(reply, 400)
    assert files_under(SESSIONS_DIR) == before


WRONG_TYPES = [
    ("/api/session/new", {"workspace": 5}),
    ("/api/session/new", {"model": ["x"]}),
    ("/api/session/new", {"profile": {"a": 1}}),
    ("/api/session/import", {"messages": {"role": "user"}}),
    ("/api/session/import", {"messages": [], "pinned": "perhaps"}),
    ("/api/session/import", {"messages": [], "tool_calls": "none"}),
    ("/api/session/import", {"messages": [], "model": 7}),
    ("/api/session/rename", {"session_id": 123, "title": "x"}),
    ("/api/session/rename", {"session_id": "abc", "title": {"t": 1}}),
    ("/api/session/delete", {"session_id": ["abc"]}),
    ("/api/session/pin", {"session_id": "abc", "pinned": "perhaps"}),
    ("/api/session/archive", {"session_id": "abc", "archived": [True]}),
    ("/api/session/move", {"session_id": "abc", "project_id": 5}),
    ("/api/session/clear", {"session_id": None}),
    ("/api/session/truncate", {"session_id": "abc", "keep_count": "all"}),
    ("/api/session/branch", {"session_id": "abc", "keep_count": [1]}),
    ("/api/session/retry", {"session_id": True}),
    ("/api/session/undo", {"session_id": 1.5}),
    ("/api/projects/create", {"name": ["x"]}),
    ("/api/projects/rename", {"project_id": 5, "name": "x"}),
    ("/api/projects/delete", {"project_id": None}),
    ("/api/memory", {"target": "user", "text": ["x"]}),
    ("/api/memory/clear", {"target": 1}),
    ("/api/skill/save", {"name": "x", "content": None}),
    ("/api/skill/delete", {"name": ["x"]}),
    ("/api/skill/enable", {"name": "x", "enabled": "yes"}),
]


@pytest.mark.parametrize(
    ("path", "body"), WRONG_TYPES, ids=[f"{p}-{sorted(b)[-1]}" for p, b in WRONG_TYPES]
)
def test_wrongly_typed_fields_are_400_json(path, body):
    assert_json_error(post(path, body), 400)


@pytest.mark.parametrize("path", sorted(POST_ROUTES_WITH_ID))
def test_deeply_nested_body_is_400_json(path):
    data = b'{"session_id": "abc", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert_json_error(post(path, data=data), 400)


# ── hostile strings never become server errors ───────────────────────────────────────────
LONE_SURROGATE = '"bad \\ud800 text"'


def test_unencodable_title_is_400_and_the_session_stays_readable(cleanup_test_sessions):
    sid = import_session(cleanup_test_sessions, title="Readable")
    before = session_bytes(sid)
    data = f'{{"session_id": "{sid}", "title": {LONE_SURROGATE}}}'.encode()
    assert_json_error(post("/api/session/rename", data=data), 400)
    assert session_bytes(sid) == before
    reply = get("/api/session", session_id=sid)
    assert reply.status == 200
    assert reply.json["session"]["title"] == "Readable"
    assert post("/api/session/pin", {"session_id": sid}).status == 200


def test_unencodable_project_name_is_400_and_the_projects_stay_readable():
    before = PROJECTS_FILE.read_bytes() if PROJECTS_FILE.exists() else None
    data = f'{{"name": {LONE_SURROGATE}}}'.encode()
    assert_json_error(post("/api/projects/create", data=data), 400)
    assert (PROJECTS_FILE.read_bytes() if PROJECTS_FILE.exists() else None) == before
    assert get("/api/projects").status == 200


def test_unencodable_project_rename_is_400_and_keeps_the_project():
    created = post("/api/projects/create", {"name": "Stable name"})
    assert created.status == 200
    pid = created.json["project"]["project_id"]
    try:
        data = f'{{"project_id": "{pid}", "name": {LONE_SURROGATE}}}'.encode()
        assert_json_error(post("/api/projects/rename", data=data), 400)
        names = {p["project_id"]: p["name"] for p in get("/api/projects").json["projects"]}
        assert names[pid] == "Stable name"
    finally:
        post("/api/projects/delete", {"project_id": pid})


@pytest.mark.parametrize("path", ["/api/session/new", "/api/session/import"])
@pytest.mark.parametrize(
    "workspace",
    [LONE_SURROGATE, json.dumps("/tmp/" + "a" * 300), json.dumps("/a" * 3000)],
    ids=["lone-surrogate", "name-too-long", "path-too-long"],
)
def test_unusable_workspace_path_is_400_not_a_server_error(path, workspace):
    before = files_under(SESSIONS_DIR)
    data = f'{{"workspace": {workspace}, "messages": []}}'.encode()
    assert_json_error(post(path, data=data), 400)
    assert files_under(SESSIONS_DIR) == before


def test_out_of_range_list_offset_is_not_a_server_error():
    reply = get("/api/sessions", offset=10**30)
    # Either answer is sound: an empty page, or a refusal of the offset.
    assert reply.status in (200, 400), reply.body
    if reply.status == 200:
        assert reply.json["sessions"] == []
    else:
        assert_json_error(reply, 400)


# ── the schema ───────────────────────────────────────────────────────────────────────────
def _served(routes: list, prefix: str = "") -> set[tuple[str, str]]:
    """(method, path) of every route, descending into included routers."""
    found: set[tuple[str, str]] = set()
    for route in routes:
        if hasattr(route, "path"):
            methods = getattr(route, "methods", None) or set()
            found |= {(m, prefix + route.path) for m in methods if m != "HEAD"}
        elif hasattr(route, "original_router"):
            context = getattr(route, "include_context", None)
            found |= _served(route.original_router.routes, prefix + getattr(context, "prefix", ""))
        else:
            raise AssertionError(f"cannot tell what {route!r} serves")
    return found


def _documented() -> set[tuple[str, str]]:
    reply = get("/openapi.json")
    assert reply.status == 200
    return {
        (method.upper(), path)
        for path, operations in reply.json["paths"].items()
        for method in operations
    }


def test_openapi_lists_every_route_the_app_serves():
    app = create_app()
    served = _served(app.routes)
    served -= {("GET", app.openapi_url), ("GET", app.docs_url)}
    assert ("GET", "/health") in served
    assert ("POST", "/api/session/import") in served
    assert len(served) == len(GET_ROUTES) + len(ATTACHMENT_ROUTES) + len(POST_ROUTES) + len(
        BODYLESS_POST_ROUTES
    ) + len(MULTIPART_POST_ROUTES)
    assert _documented() == served


def test_openapi_matches_the_routes_these_tests_cover():
    expected = {("GET", p) for p in [*GET_ROUTES, *ATTACHMENT_ROUTES]} | {
        ("POST", p) for p in [*POST_ROUTES, *BODYLESS_POST_ROUTES, *MULTIPART_POST_ROUTES]
    }
    assert _documented() == expected


def test_openapi_declares_a_json_body_for_every_post_route():
    paths = get("/openapi.json").json["paths"]
    for path in POST_ROUTES:
        body = paths[path]["post"].get("requestBody")
        assert body, path
        assert "application/json" in body["content"], path


def test_openapi_does_not_advertise_422_responses():
    paths = get("/openapi.json").json["paths"]
    advertised = sorted(
        f"{method.upper()} {path}"
        for path, operations in paths.items()
        for method, operation in operations.items()
        if "422" in operation.get("responses", {})
    )
    assert advertised == []


# ── security headers ─────────────────────────────────────────────────────────────────────
@pytest.mark.parametrize(
    "send",
    [
        lambda: get("/health"),
        lambda: get("/openapi.json"),
        lambda: get("/api/sessions"),
        lambda: get("/api/session", session_id="nosuchsession0"),
        lambda: get("/api/nope"),
        lambda: get("/api/session/new"),
        lambda: post("/api/session/delete", data=b"{"),
        lambda: post("/api/session/new", {}, headers={"Origin": EVIL}),
    ],
    ids=["200", "schema", "list", "404", "route-404", "405", "400", "403"],
)
def test_replies_carry_security_headers(cleanup_test_sessions, send):
    headers = lower_keys(send().headers)
    assert headers.get("x-content-type-options") == "nosniff"
    assert headers.get("x-frame-options") == "DENY"
    assert "frame-ancestors 'none'" in headers.get("content-security-policy", "")


def test_json_replies_are_not_cached(cleanup_test_sessions):
    sid = import_session(cleanup_test_sessions)
    for reply in (get("/api/session", session_id=sid), get("/api/sessions"), get("/health")):
        assert lower_keys(reply.headers).get("cache-control") == "no-store"
