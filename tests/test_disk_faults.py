"""A full, read-only or file-starved machine loses no message and says what happened.

The server's home and state live on a small tmpfs of their own, which the tests fill up or
remount read-only while a real `hermes web` runs; the open-file limit is lowered on the
running server with prlimit. Each time: the request says what is wrong, nothing already saved
is lost or torn, and the next turn works once the fault is gone.
"""

from __future__ import annotations

import contextlib
import os
import resource
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.support import ServerProcess, fake_provider_env, read_events, request


@contextlib.contextmanager
def _tmpfs(mount: Path, size: str) -> Iterator[Path]:
    mount.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """A 24 MB file system of the test's own."""
    with _tmpfs(tmp_path / "disk", "24m") as mount:
        yield mount


@pytest.fixture
def server(disk: Path, fake: FakeOpenAI) -> Iterator[ServerProcess]:
    fake.clear_script()  # a test that failed midway leaves no answer for the next
    process = ServerProcess(disk / "server", extra_env=fake_provider_env(fake))
    process.root.mkdir()
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def sessions_disk(tmp_path: Path, fake: FakeOpenAI) -> Iterator[tuple[ServerProcess, Path]]:
    """A server whose web sessions are on a file system of their own, which can be made
    read-only under it (a mount with a file open for writing cannot)."""
    fake.clear_script()
    process = ServerProcess(tmp_path / "server", extra_env=fake_provider_env(fake))
    with _tmpfs(process.state_dir / "sessions", "8m") as mount:
        process.start()
        try:
            yield process, mount
        finally:
            with contextlib.suppress(subprocess.CalledProcessError):
                _remount(mount, "rw")
            process.stop()


def _fill(disk: Path) -> Path:
    filler = disk / "filler"
    with open(filler, "wb") as out, contextlib.suppress(OSError):
        while True:
            out.write(b"\0" * 65536)
            out.flush()
    return filler


def _remount(disk: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(disk)], check=True)


def _new_session(server: ServerProcess) -> str:
    return request(server.base, "POST", "/api/session/new", {}).json["session"]["session_id"]


def _start(server: ServerProcess, sid: str, text: str):
    return request(server.base, "POST", "/api/chat/start", {"session_id": sid, "message": text})


def _turn(server: ServerProcess, fake: FakeOpenAI, sid: str, text: str, answer: str) -> None:
    fake.script(Reply.text(answer))
    started = _start(server, sid, text)
    assert started.status == 200, started.body
    assert read_events(server.base, started.json["stream_id"])[-1][0] == "stream_end"


def _messages(server: ServerProcess, sid: str) -> list[tuple[str, str]]:
    shown = request(server.base, "GET", f"/api/session?session_id={sid}")
    assert shown.status == 200, shown.body
    return [(m["role"], m["content"]) for m in shown.json["session"]["messages"]]


def _session_file(server: ServerProcess, sid: str) -> Path:
    return server.state_dir / "sessions" / f"{sid}.json"


def test_a_full_disk_refuses_the_message_clearly_and_the_next_send_works_once_space_is_back(
    server, fake, disk
):
    sid = _new_session(server)
    _turn(server, fake, sid, "first", "First answer.")
    saved = _session_file(server, sid).read_bytes()
    filler = _fill(disk)

    refused = _start(server, sid, "sent while the disk is full")
    assert refused.status == 507, refused.body
    assert "the disk is full" in refused.json["error"]
    assert _session_file(server, sid).read_bytes() == saved, "nothing torn, nothing half-saved"
    assert _messages(server, sid) == [("user", "first"), ("assistant", "First answer.")]

    filler.unlink()
    _turn(server, fake, sid, "sent again", "Second answer.")
    assert _messages(server, sid)[-2:] == [("user", "sent again"), ("assistant", "Second answer.")]


def _until_answering(fake: FakeOpenAI) -> None:
    """Until the model has taken the scripted answer and streamed a little of it."""
    deadline = time.monotonic() + 10
    while fake.pending and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not fake.pending, "the turn never asked the model"
    time.sleep(0.3)


def test_the_disk_filling_up_during_a_turn_keeps_the_users_message_and_says_why(server, fake, disk):
    sid = _new_session(server)
    fake.script(Reply.text("slow words " * 40, delay=0.05))
    started = _start(server, sid, "a question the disk cannot hold the answer to")
    assert started.status == 200
    _until_answering(fake)
    filler = _fill(disk)
    events = read_events(server.base, started.json["stream_id"])
    assert events[-1][0] == "apperror"
    assert "the disk is full" in events[-1][1]["message"]

    shown = _messages(server, sid)
    assert shown[0] == ("user", "a question the disk cannot hold the answer to")
    assert "the disk is full" in shown[-1][1], "the transcript says why the turn ended"

    filler.unlink()
    _turn(server, fake, sid, "and now?", "Space is back.")
    assert _messages(server, sid)[-1] == ("assistant", "Space is back.")
    server.stop()
    server.start()
    after = _messages(server, sid)
    assert after[0] == ("user", "a question the disk cannot hold the answer to")
    assert after[-1] == ("assistant", "Space is back.")


def test_a_read_only_disk_refuses_changes_clearly_and_changes_nothing(sessions_disk, fake):
    server, disk = sessions_disk
    sid = _new_session(server)
    _turn(server, fake, sid, "first", "First answer.")
    saved = _session_file(server, sid).read_bytes()
    _remount(disk, "ro")

    refused = _start(server, sid, "sent while read-only")
    assert refused.status == 507, refused.body
    assert "read-only" in refused.json["error"]
    renamed = request(
        server.base, "POST", "/api/session/rename", {"session_id": sid, "title": "New name"}
    )
    assert renamed.status == 507, renamed.body
    assert _messages(server, sid) == [("user", "first"), ("assistant", "First answer.")]

    _remount(disk, "rw")
    assert _session_file(server, sid).read_bytes() == saved
    _turn(server, fake, sid, "sent again", "Writable again.")
    assert _messages(server, sid)[-1] == ("assistant", "Writable again.")


def test_running_out_of_file_handles_refuses_clearly_and_recovers(server, fake):
    sid = _new_session(server)
    _turn(server, fake, sid, "first", "First answer.")
    pid = server.proc.pid
    soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    time.sleep(0.5)  # the last turn's connections closed
    # The limit caps descriptor numbers: leave exactly one free slot, for the request's socket.
    fds = [int(name) for name in os.listdir(f"/proc/{pid}/fd")]
    free = max(fds) + 1 - len(fds)
    assert free <= 1, f"{free} free descriptor slots under the highest; one is all this allows"
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (max(fds) + 2 - free, hard))
    try:
        refused = _start(server, sid, "sent with no file handle to spare")
    finally:
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
    assert refused.status == 503, refused.body
    assert "too many files open" in refused.json["error"]
    _turn(server, fake, sid, "sent again", "Handles again.")
    assert _messages(server, sid)[-2:] == [("user", "sent again"), ("assistant", "Handles again.")]
