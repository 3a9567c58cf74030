"""The live server against its own OpenAPI schema, fuzzed by schemathesis.

Every operation gets schema-driven requests (the examples, coverage and fuzzing phases), and
the state machine follows the links between operations (a new session's id into the routes
that take one). Each response goes through every default check: no 5xx, a documented status
and content type, a body that matches its schema, schema-valid input accepted and invalid
input refused.

Two servers run, each in its own temp root: one without a password and one with
`HERMES_WEBUI_PASSWORD`, where every request carries the login cookie and CSRF token. Their
provider is the scripted fake from `tests/fakes`, answering every chat with "OK": runs end at
once and the model never asks for a tool. The to-do list is the only tool enabled besides,
so nothing the fuzzer sends can reach a shell or a file outside the temp root.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from typing import Any

import hypothesis
import hypothesis.errors
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig

from api.app import create_app
from hermes_state import SessionDB
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.support import ServerProcess, fake_provider_env, request


def _zip_of(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


# Bodies for `application/zip` (a conversation archive): real zips with fuzzed entry names and
# contents, and bytes that are no zip at all.
schemathesis.openapi.media_type(
    "application/zip",
    st.one_of(
        st.dictionaries(st.text(min_size=1, max_size=40), st.binary(max_size=200), max_size=4).map(
            _zip_of
        ),
        st.binary(max_size=300),
    ),
)
PASSWORD = "fuzzing the locked server"
TERMINAL_ID = "20261121_101500_abc123"
EXAMPLES = hypothesis.settings(
    max_examples=6,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)
STATEFUL = hypothesis.settings(
    EXAMPLES,
    derandomize=False,  # seeded instead, see `run_linked`
    stateful_step_count=10,
    phases=[hypothesis.Phase.generate],
)
SCENARIOS = 25
RESTARTS = 20
# Statuses schemathesis accepts for schema-valid input (its default list), plus 400 where the
# server's state, not the request, decides: a workspace must be an existing directory under
# home (a fact about the disk no schema can state), and a server without a password has
# nothing to log in to. Everything else about these operations is checked as everywhere.
POSITIVE_STATUSES = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
WORKSPACE_OPERATIONS = [
    "/api/session/new",
    "/api/session/import",
    "/api/session/update",
    "/api/chat/start",
    # Whether a path names a directory, a file, or leads out of the workspace through a link
    # is a fact about the disk too; an upload's fields must come before its file.
    "/api/workspace/list",
    "/api/workspace/file",
    "/api/workspace/upload",
    # A schema says "binary", not "a zip archive": bytes that are not one get a 400.
    "/api/sessions/import",
    "/api/skills/import",
    # Whether a text fits its memory file (the limit depends on the target and on how the
    # text falls into entries) and whether a SKILL.md parses are facts about the content.
    "/api/memory",
    "/api/skill/save",
    # Whether a schedule parses and a time zone exists are facts about the text.
    "/api/cron/preview",
]


def accepting_400(*paths: str) -> list[dict[str, Any]]:
    expected = {"expected-statuses": [*POSITIVE_STATUSES, "400"]}
    return [
        {"include-path": path, "checks": {"positive_data_acceptance": expected}} for path in paths
    ]


# Adding or trying an MCP server runs the program it names: a fuzzer's random command lines
# are not run. tests/test_mcp_web.py sends these routes bad input instead. Running a job runs
# the agent on its prompt, and a saved job runs on its schedule, unattended: neither is fuzzed
# (tests/test_cron_api.py sends them bad input).
NOT_FUZZED = [
    {"include-path": path, "enabled": False}
    for path in (
        "/api/mcp/server/save",
        "/api/mcp/server/test",
        "/api/cron/job/save",
        "/api/cron/job/run",
    )
]


def config(operations: list[dict[str, Any]]) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {"request-timeout": 10, "operations": [*operations, *NOT_FUZZED]}
    )


# ── the servers ──────────────────────────────────────────────────────────────────────────
@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(default=Reply.text("OK")) as provider:
        yield provider


def serve(root, fake: FakeOpenAI, **env: str) -> ServerProcess:
    """A server whose state.db already holds a terminal conversation, so the sidebar and
    search replies the fuzzer checks include another surface's rows too."""
    db = SessionDB(root / "hermes-home" / "state.db")
    db.create_session(TERMINAL_ID, "tui", model="fake-model")
    db.set_session_title(TERMINAL_ID, "Harbour timetable")
    db.append_message(TERMINAL_ID, "user", "When does the ferry leave?")
    db.append_message(TERMINAL_ID, "assistant", "At nine, from pier four.")
    db.close()
    extra = fake_provider_env(fake, HERMES_ENABLED_TOOLS="todo", **env)
    return ServerProcess(root, extra_env=extra).start()


@pytest.fixture(scope="module")
def open_server(tmp_path_factory, fake) -> Iterator[ServerProcess]:
    server = serve(tmp_path_factory.mktemp("fuzz-open"), fake)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def locked_server(tmp_path_factory, fake) -> Iterator[ServerProcess]:
    server = serve(tmp_path_factory.mktemp("fuzz-locked"), fake, HERMES_WEBUI_PASSWORD=PASSWORD)
    yield server
    server.stop()


def log_in(server: ServerProcess) -> dict[str, str]:
    """The headers of a logged-in browser: its session cookie and CSRF token."""
    reply = request(server.base, "POST", "/api/auth/login", {"password": PASSWORD})
    assert reply.status == 200, reply.body
    cookie = reply.headers["set-cookie"].split(";", 1)[0]
    return {"Cookie": cookie, "X-Hermes-CSRF": reply.json["csrf_token"]}


@pytest.fixture(scope="module")
def logins(locked_server) -> dict[str, dict[str, str]]:
    """Two browser sessions, made before the fuzzer can trip the login throttle: `main` for
    every request, and `spare` for logout, which ends the session it is sent with."""
    return {"main": log_in(locked_server), "spare": log_in(locked_server)}


def credentials_for(case, logins: dict[str, dict[str, str]]) -> dict[str, str]:
    return logins["spare" if case.path == "/api/auth/logout" else "main"]


def remove_password_set_by(case, response, base: str) -> None:
    """Take back a password the fuzzer set on the open server (a 200 from the password route),
    which would otherwise lock every later request out with 401."""
    if case.path != "/api/auth/password" or response.status_code != 200:
        return
    if not response.json().get("auth_required"):
        return
    cookie = response.headers["set-cookie"][0].split(";", 1)[0]
    headers = {"Cookie": cookie, "X-Hermes-CSRF": response.json()["csrf_token"]}
    body = {"current": case.body["new"], "new": None}
    reply = request(base, "POST", "/api/auth/password", body, headers=headers)
    assert reply.status == 200, reply.body


# ── the schema the servers serve ─────────────────────────────────────────────────────────
# Loaded from the application at import, because test generation happens at collection,
# before any server runs; the first test checks that both servers serve exactly this one.
SCHEMA = create_app().openapi()
open_api = schemathesis.openapi.from_dict(
    SCHEMA, config=config(accepting_400(*WORKSPACE_OPERATIONS, "/api/auth/login"))
)
locked_api = schemathesis.openapi.from_dict(
    SCHEMA, config=config(accepting_400(*WORKSPACE_OPERATIONS))
)


def test_the_fuzzed_schema_is_the_one_both_servers_serve(open_server, locked_server, logins):
    served_open = request(open_server.base, "GET", "/openapi.json")
    served_locked = request(locked_server.base, "GET", "/openapi.json", headers=logins["main"])
    assert served_open.json == SCHEMA
    assert served_locked.json == SCHEMA


@pytest.mark.parametrize(
    ("path", "method", "request_parts"),
    [
        ("/api/sessions", "GET", {}),
        ("/api/sessions/search", "GET", {"query": {"q": "ferry"}}),
        ("/api/session", "GET", {"query": {"session_id": TERMINAL_ID}}),
        ("/api/session/import_cli", "POST", {"body": {"session_id": TERMINAL_ID}}),
        ("/api/session", "GET", {"query": {"session_id": TERMINAL_ID}}),
    ],
    ids=["listed", "found", "read-only", "continued", "read-as-web"],
)
def test_another_surfaces_conversation_keeps_to_the_schema_in_every_reply(
    open_server, path, method, request_parts
):
    case = open_api[path][method].Case(**request_parts)
    response = case.call_and_validate(base_url=open_server.base)
    assert response.status_code == 200
    assert TERMINAL_ID in response.text


# ── stateless: every operation on its own ────────────────────────────────────────────────
@open_api.parametrize()
@EXAMPLES
def test_every_operation_without_a_password_keeps_to_the_schema(case, open_server):
    response = case.call_and_validate(base_url=open_server.base)
    remove_password_set_by(case, response, open_server.base)


@locked_api.parametrize()
@EXAMPLES
def test_every_operation_with_a_password_keeps_to_the_schema(case, locked_server, logins):
    case.call_and_validate(base_url=locked_server.base, headers=credentials_for(case, logins))


# ── stateful: operations chained by the links between them ───────────────────────────────
def run_linked(machine: type) -> None:
    """Run `SCENARIOS` scenarios of the state machine; any failed check is raised.

    Hypothesis calls a run flaky (`FlakyStrategyDefinition`) when a scenario draws differently
    from an earlier one at the same point: here that means only that the server's state moved
    on between them (a saved session now exists, a link now has an id to give), as
    schemathesis's own runner assumes too. Like that runner, this starts again with the next
    seed until the scenarios are done, and raises a failed check if one came first.
    """
    failures: list[Exception] = []
    finished: list[int] = []

    class Recorded(machine):
        def validate_response(self, response, case, **kwargs) -> None:
            try:
                super().validate_response(response, case, **kwargs)
            except Exception as exc:
                failures.append(exc)
                raise

        def teardown(self) -> None:
            finished.append(1)
            super().teardown()

    for seed in range(RESTARTS):
        left = SCENARIOS - len(finished)
        try:
            hypothesis.seed(seed)(Recorded).run(
                settings=hypothesis.settings(STATEFUL, max_examples=left)
            )
            return
        except hypothesis.errors.FlakyStrategyDefinition:
            if failures:
                raise failures[0] from None
            if len(finished) >= SCENARIOS:
                return


def test_linked_operations_without_a_password_keep_to_the_schema(open_server):
    class OpenServer(open_api.as_state_machine()):
        def get_call_kwargs(self, case) -> dict[str, Any]:
            return {"base_url": open_server.base}

        def after_call(self, response, case) -> None:
            super().after_call(response, case)
            remove_password_set_by(case, response, open_server.base)

    run_linked(OpenServer)


def test_linked_operations_with_a_password_keep_to_the_schema(locked_server, logins):
    class LockedServer(locked_api.as_state_machine()):
        def get_call_kwargs(self, case) -> dict[str, Any]:
            return {"base_url": locked_server.base, "headers": credentials_for(case, logins)}

    run_linked(LockedServer)
