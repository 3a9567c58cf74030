"""Every conversation in one download: a zip of JSON exports that import takes back unchanged."""

from __future__ import annotations

import io
import json
import zipfile

from tests.conftest import TEST_BASE
from tests.support import ServerProcess, request

HOSTILE = '<img src=x onerror=alert(1)> "quoted" / ../../etc'


def imported(created: list, title: str, *texts: str) -> str:
    roles = ("user", "assistant")
    messages = [{"role": roles[i % 2], "content": t} for i, t in enumerate(texts)]
    body = {"title": title, "messages": messages}
    reply = request(TEST_BASE, "POST", "/api/session/import", body)
    assert reply.status == 200, reply.body
    sid = reply.json["session"]["session_id"]
    created.append(sid)
    return sid


def download(base: str = TEST_BASE) -> tuple[dict[str, str], dict[str, dict]]:
    reply = request(base, "GET", "/api/sessions/export")
    assert reply.status == 200, reply.body
    with zipfile.ZipFile(io.BytesIO(reply.body)) as archive:
        assert archive.testzip() is None
        names = [n for n in archive.namelist() if not n.startswith("attachments/")]
        files = {name: json.loads(archive.read(name)) for name in names}
    return reply.headers, files


def test_the_zip_holds_every_conversation_archived_ones_too(cleanup_test_sessions):
    plain = imported(cleanup_test_sessions, "Harbour plans", "When?", "At nine.")
    hostile = imported(cleanup_test_sessions, HOSTILE, "and you?", "fine")
    archived = imported(cleanup_test_sessions, "Old notes", "keep", "kept")
    request(TEST_BASE, "POST", "/api/session/archive", {"session_id": archived, "archived": True})

    headers, files = download()
    assert headers["content-type"] == "application/zip"
    assert headers["content-disposition"].startswith('attachment; filename="hermes-conversations-')
    assert int(headers["x-hermes-conversations"]) == len(files)
    for sid in (plain, hostile, archived):
        assert f"hermes-{sid}.json" in files, "named by id, never by title"
    assert all("/" not in name and ".." not in name for name in files)
    assert files[f"hermes-{hostile}.json"]["title"] == HOSTILE
    assert files[f"hermes-{archived}.json"]["archived"] is True
    texts = [m["content"] for m in files[f"hermes-{plain}.json"]["messages"]]
    assert texts == ["When?", "At nine."]


def test_an_exported_conversation_imports_back_with_the_same_messages(cleanup_test_sessions):
    sid = imported(cleanup_test_sessions, "Round trip", "ping", "pong", "again", "pong twice")
    _, files = download()
    exported = files[f"hermes-{sid}.json"]
    reply = request(TEST_BASE, "POST", "/api/session/import", exported)
    assert reply.status == 200, reply.body
    copy = reply.json["session"]
    cleanup_test_sessions.append(copy["session_id"])
    assert copy["session_id"] != sid
    assert copy["title"] == "Round trip"
    assert [m["content"] for m in copy["messages"]] == ["ping", "pong", "again", "pong twice"]


def test_an_empty_store_gives_an_empty_zip(tmp_path):
    server = ServerProcess(tmp_path)
    server.start()
    try:
        headers, files = download(server.base)
    finally:
        server.stop()
    assert files == {} and headers["x-hermes-conversations"] == "0"
