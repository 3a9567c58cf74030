"""The store seam: `ConversationStore` is what the surfaces and the agent call, `SessionDB`
implements it, and a failing state.db reaches them as `StoreError` with a readable message,
never as a `sqlite3` exception. The surfaces are then driven against damaged and read-only
files (real files, real processes) to show they degrade instead of crashing."""

from __future__ import annotations

import contextlib
import inspect
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hermes_agent.errors import StoreError
from hermes_state import ConversationStore, SessionDB
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.gateway_support import GatewayProcess, post_hook
from tests.support import REPO_ROOT, ServerProcess, free_port, read_events, request
from tests.tui_gateway_support import started_gateways

STORE_UNAVAILABLE = 5000  # the terminal gateway's error code for the store's failures
SECRET = "seam-secret-0123456789abcdef"


# -- damaged and read-only files --------------------------------------------------------------


def filled(path: Path) -> Path:
    """A real state.db with a few sessions and messages, closed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with SessionDB(path) as db:
        for i in range(20):
            db.create_session(f"s{i}", source="cli")
            db.append_message(f"s{i}", role="user", content=f"hello number {i}")
    return path


def garbage(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this was never a database\n" * 400)
    return path


def truncated(path: Path) -> Path:
    data = filled(path).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def damaged_tables(path: Path) -> Path:
    """A state.db whose schema is intact (so it opens) but whose sessions and messages pages
    are overwritten with garbage (so every use of them fails)."""
    filled(path)
    with contextlib.closing(sqlite3.connect(path)) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        roots = [
            row[0]
            for row in conn.execute(
                "SELECT rootpage FROM sqlite_master "
                "WHERE tbl_name IN ('sessions', 'messages') AND rootpage > 0"
            )
        ]
    with open(path, "r+b") as f:
        for page in roots:
            f.seek((page - 1) * page_size)
            f.write(b"\xff" * page_size)
    return path


def _writable(path: Path) -> bool:
    probe = path / ".probe" if path.is_dir() else path
    try:
        with open(probe, "ab"):
            pass
    except OSError:
        return False
    if path.is_dir():
        probe.unlink()
    return True


@pytest.fixture
def read_only() -> Iterator[Callable[[Path], Path]]:
    """Makes a file or directory unwritable: by its mode, and for root (whom modes do not
    stop) by the immutable attribute; undone afterwards."""
    chattr = shutil.which("chattr") if os.geteuid() == 0 else None
    made: list[tuple[Path, int]] = []

    def make(path: Path) -> Path:
        made.append((path, path.stat().st_mode))
        path.chmod(0o555 if path.is_dir() else 0o444)
        if chattr:
            subprocess.run([chattr, "+i", str(path)], capture_output=True, check=False)
        assert not _writable(path), "this filesystem or user cannot make a path read-only"
        return path

    yield make
    for path, mode in reversed(made):
        if chattr:
            subprocess.run([chattr, "-i", str(path)], capture_output=True, check=False)
        path.chmod(mode)


def assert_translated(error: StoreError) -> None:
    """A StoreError of the store's own making: no sqlite3 type, the cause kept for logs."""
    assert not isinstance(error, sqlite3.Error)
    assert isinstance(error.__cause__, sqlite3.Error)


# -- damaged databases raise StoreError --------------------------------------------------------


def test_opening_a_file_of_garbage_raises_store_error_naming_the_file(tmp_path):
    path = garbage(tmp_path / "state.db")
    with pytest.raises(StoreError, match="not a SQLite database") as caught:
        SessionDB(path)
    assert str(path) in str(caught.value)
    assert caught.value.status == 500
    assert_translated(caught.value)


def test_a_truncated_database_raises_store_error_saying_it_is_damaged(tmp_path):
    path = truncated(tmp_path / "state.db")
    with pytest.raises(StoreError, match="is damaged") as caught:
        SessionDB(path).get_messages("s19")
    assert str(path) in str(caught.value)
    assert_translated(caught.value)


USES: dict[str, Callable[[SessionDB], object]] = {
    "get_session": lambda db: db.get_session("s1"),
    "get_session_title": lambda db: db.get_session_title("s1"),
    "resolve_session_id": lambda db: db.resolve_session_id("s1"),
    "get_messages": lambda db: db.get_messages("s1"),
    "get_messages_as_conversation": lambda db: db.get_messages_as_conversation(
        "s1", include_ancestors=True
    ),
    "get_compression_tip": lambda db: db.get_compression_tip("s1"),
    "list_sessions_rich": lambda db: db.list_sessions_rich(order_by_last_active=True),
    "search_messages": lambda db: db.search_messages("hello"),
    "message_count": lambda db: db.message_count("s1"),
    "export_session": lambda db: db.export_session("s1"),
    "create_session": lambda db: db.create_session("new", source="cli"),
    "append_message": lambda db: db.append_message("s1", role="user", content="more"),
    "set_session_title": lambda db: db.set_session_title("s1", "A title"),
    "end_session": lambda db: db.end_session("s1", "cli_exit"),
    "replace_messages": lambda db: db.replace_messages("s1", [{"role": "user", "content": "x"}]),
    "messages_after": lambda db: db.messages_after("s1", 0),
    "delete_messages": lambda db: db.delete_messages("s1", [1]),
    "update_token_counts": lambda db: db.update_token_counts("s1", 5, 7),
    "delete_session": lambda db: db.delete_session("s1"),
    "vacuum": lambda db: db.vacuum(),
}


@pytest.fixture(scope="module")
def damaged_store(tmp_path_factory) -> Iterator[SessionDB]:
    with SessionDB(damaged_tables(tmp_path_factory.mktemp("damaged") / "state.db")) as db:
        yield db


@pytest.mark.parametrize("use", USES.values(), ids=USES.keys())
def test_every_use_of_a_damaged_database_raises_store_error_saying_so(damaged_store, use):
    with pytest.raises(StoreError, match="is damaged") as caught:
        use(damaged_store)
    assert_translated(caught.value)


def test_a_write_that_breaks_a_constraint_is_a_store_error_too(tmp_path):
    with (
        SessionDB(tmp_path / "state.db") as db,
        pytest.raises(StoreError, match="session that does not exist") as caught,
    ):
        db.append_message("never-created", role="user", content="lost?")
    assert_translated(caught.value)


# -- read-only files ---------------------------------------------------------------------------


def test_writes_to_a_read_only_database_raise_store_error_saying_so(tmp_path, read_only):
    path = read_only(filled(tmp_path / "state.db"))
    with SessionDB(path) as db:
        assert db.get_session("s1")["source"] == "cli"  # reading still works
        for write in (USES["create_session"], USES["append_message"], USES["set_session_title"]):
            with pytest.raises(StoreError, match="is read-only") as caught:
                write(db)
            assert str(path) in str(caught.value)
            assert_translated(caught.value)
        assert db.message_count("s1") == 1


def test_a_database_in_a_read_only_directory_raises_store_error_saying_why(tmp_path, read_only):
    path = filled(tmp_path / "home" / "state.db")
    read_only(path.parent)
    with pytest.raises(StoreError, match="directory") as caught:
        SessionDB(path)
    assert str(path) in str(caught.value)
    assert_translated(caught.value)


# -- the protocol ------------------------------------------------------------------------------


def _protocol_methods() -> dict[str, Any]:
    return {
        name: member
        for name, member in vars(ConversationStore).items()
        if inspect.isfunction(member) and not name.startswith("_")
    }


def test_session_db_is_a_conversation_store(tmp_path):
    with SessionDB(tmp_path / "state.db") as db:
        store: ConversationStore = db
        store.create_session("s1", "cli")
        assert store.get_session("s1")["source"] == "cli"
    assert _protocol_methods()


@pytest.mark.parametrize("name", sorted(_protocol_methods()))
def test_session_db_implements_each_protocol_method_with_a_compatible_signature(tmp_path, name):
    """Every parameter the protocol declares exists on SessionDB with the same name, kind,
    default and annotation; whatever SessionDB adds is optional."""
    with SessionDB(tmp_path / "state.db") as db:
        implemented = inspect.signature(getattr(db, name))
    declared = inspect.signature(_protocol_methods()[name])
    wanted = list(declared.parameters.values())[1:]  # without self
    given = implemented.parameters
    for position, param in enumerate(wanted):
        assert param.name in given, f"{name} lacks {param.name}"
        actual = given[param.name]
        assert (actual.default, actual.annotation) == (param.default, param.annotation), param
        if param.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD:
            assert actual.kind is param.kind, param
            assert list(given).index(param.name) == position, param
        else:
            assert actual.kind in (param.kind, inspect.Parameter.POSITIONAL_OR_KEYWORD), param
    extra = [p for p in given.values() if p.name not in declared.parameters]
    assert all(p.default is not inspect.Parameter.empty for p in extra), extra
    assert implemented.return_annotation == declared.return_annotation


# -- the surfaces degrade ----------------------------------------------------------------------


def test_the_terminal_gateway_sets_a_damaged_store_aside_and_records_in_a_new_one(tmp_path):
    home = tmp_path / "home"
    garbage(home / "state.db")
    damaged = (home / "state.db").read_bytes()
    with FakeOpenAI() as fake, started_gateways(tmp_path, fake) as start:
        fake.script(Reply.text("Still here."))
        gateway = start()
        sid = gateway.create()

        _, complete = gateway.turn(sid, "Are you there?")
        listed = gateway.result("session.list")["sessions"]

        assert (complete["status"], complete["text"]) == ("complete", "Still here.")
        assert [row["title"] for row in listed] == ["Are you there?"]
        assert gateway.close() == 0
    (aside,) = home.glob("state.db.damaged-*")
    assert aside.read_bytes() == damaged


def test_a_terminal_turn_on_a_read_only_store_ends_with_an_error_saying_so(tmp_path, read_only):
    read_only(filled(tmp_path / "home" / "state.db"))
    with FakeOpenAI() as fake, started_gateways(tmp_path, fake) as start:
        gateway = start()
        sid = gateway.create()

        events, complete = gateway.turn(sid, "Will this be kept?")
        listed = gateway.result("session.list", {"source": "cli"})["sessions"]

        assert complete["status"] == "error"
        assert "is read-only" in complete["text"]
        errors = [e["payload"]["message"] for e in events if e["type"] == "error"]
        assert len(errors) == 1 and "is read-only" in errors[0]
        assert len(listed) == 20  # the store is still read
        assert gateway.close() == 0


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_the_chat_gateway_with_a_damaged_store_still_answers_and_logs_why(tmp_path):
    port = free_port()
    with FakeOpenAI() as llm:
        gateway = GatewayProcess(
            tmp_path,
            llm,
            HERMES_GATEWAY_PLATFORMS="webhook",
            HERMES_WEBHOOK_PORT=str(port),
            HERMES_WEBHOOK_SECRETS=f"ci={SECRET}",
        )
        garbage(gateway.home / "state.db")
        gateway.start()
        try:
            gateway.wait(lambda: _listening(port), "webhook server")
            llm.script(Reply.text("pong"))
            message = {"chat_id": "c1", "user_id": "u1", "text": "ping"}
            reply = post_hook(port, "ci", SECRET, message)
            assert reply.status == 200, reply.body
            assert (reply.json["status"], reply.json["reply"]) == ("answered", "pong")
        finally:
            assert gateway.stop() == 0, gateway.log()
    assert "not a SQLite database" in gateway.log()


def test_the_web_server_with_a_damaged_store_still_lists_and_chats(tmp_path):
    with FakeOpenAI() as fake:
        server = ServerProcess(
            tmp_path,
            extra_env={
                "HERMES_PROVIDER": "openai",
                "HERMES_BASE_URL": fake.base_url,
                "HERMES_API_KEY": "k",
                "HERMES_MODEL": "fake-model",
                "HERMES_MAX_RETRIES": "0",
                "HERMES_LLM_TITLES": "0",
            },
        )
        garbage(tmp_path / "hermes-home" / "state.db")
        server.start()
        try:
            fake.script(Reply.text("Web still works."))
            sid = request(server.base, "POST", "/api/session/new", {}).json["session"]["session_id"]
            started = request(
                server.base, "POST", "/api/chat/start", {"session_id": sid, "message": "Hello?"}
            )
            assert started.status == 200, started.body
            names = [name for name, _ in read_events(server.base, started.json["stream_id"])]
            listed = request(server.base, "GET", "/api/sessions")
        finally:
            server.stop()
    assert "done" in names and "apperror" not in names
    assert listed.status == 200, listed.body
    assert sid in [row["session_id"] for row in listed.json["sessions"]]


def test_the_sessions_command_reports_a_damaged_store_without_a_traceback(tmp_path):
    garbage(tmp_path / "state.db")
    env = {**os.environ, "HERMES_HOME": str(tmp_path), "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "hermes_cli", "sessions", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("hermes: ")
    assert "not a SQLite database" in result.stderr
    assert "Traceback" not in result.stderr
