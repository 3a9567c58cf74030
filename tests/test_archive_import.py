"""A zip export taken back whole, on another server: conversations and the files they carry;
hostile archives (bombs, lying headers, stray paths, bad JSON) change nothing they should not."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest

from tests.fakes.openai_server import Reply
from tests.support import ServerProcess, fake_provider_env, read_events, request
from tests.test_attachments_api import png, upload


@pytest.fixture(scope="module")
def servers(tmp_path_factory, fake):
    pair = [
        ServerProcess(tmp_path_factory.mktemp(name), extra_env=fake_provider_env(fake))
        for name in ("source", "target")
    ]
    for server in pair:
        server.start()
    yield pair
    for server in pair:
        server.stop()


def send_archive(server: ServerProcess, data: bytes):
    return request(
        server.base,
        "POST",
        "/api/sessions/import",
        data=data,
        headers={"Content-Type": "application/zip"},
        timeout=60,
    )


def zipped(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_a_zip_export_comes_back_whole_on_another_server_with_its_files(servers, fake):
    source, target = servers
    image = png(30, 30, "maroon")
    sid = request(source.base, "POST", "/api/session/new", {}).json["session"]["session_id"]
    sent = upload(source, "maroon.png", image).json
    fake.script(Reply.text("Maroon."))
    body = {"session_id": sid, "message": "Colour?", "attachments": [sent["id"]]}
    started = request(source.base, "POST", "/api/chat/start", body)
    read_events(source.base, started.json["stream_id"])
    archive = request(source.base, "GET", "/api/sessions/export").body

    reply = send_archive(target, archive)

    assert reply.status == 200, reply.body
    assert (reply.json["imported"], reply.json["files"]) == (1, 1), reply.json
    assert reply.json["skipped"] == []
    copy = reply.json["sessions"][0]
    shown = request(target.base, "GET", f"/api/session?session_id={copy}").json["session"]
    user = next(m for m in shown["messages"] if m["role"] == "user")
    assert user["attachments"][0]["id"] == sent["id"]
    served = request(target.base, "GET", f"/api/attachment/{sent['id']}")
    assert served.status == 200 and served.body == image


def test_a_file_whose_bytes_do_not_match_its_name_is_stored_by_its_bytes(servers):
    _, target = servers
    real = b"the real bytes\n"
    claimed = "0" * 64
    export = {
        "title": "Lying archive",
        "messages": [
            {
                "role": "user",
                "content": "see file",
                "attachments": [{"id": claimed, "filename": "a.txt"}],
            }
        ],
    }
    reply = send_archive(
        target,
        zipped(
            {"hermes-x1.json": json.dumps(export).encode(), f"attachments/{claimed}/a.txt": real}
        ),
    )
    assert reply.status == 200, reply.body
    copy = reply.json["sessions"][0]
    shown = request(target.base, "GET", f"/api/session?session_id={copy}").json["session"]
    assert shown["messages"][0]["attachments"][0]["id"] == hashlib.sha256(real).hexdigest()
    assert request(target.base, "GET", f"/api/attachment/{claimed}").status == 404


def test_hostile_entries_are_skipped_with_reasons_and_the_rest_is_taken(servers):
    _, target = servers
    good = {"title": "Good one", "messages": [{"role": "user", "content": "hello"}]}
    bomb = b"\0" * (30 * 1024 * 1024)  # inflates far past a file's 25 MB from a tiny entry
    reply = send_archive(
        target,
        zipped(
            {
                "hermes-good.json": json.dumps(good).encode(),
                "hermes-bad.json": b"{not json",
                "hermes-role.json": json.dumps(
                    {"messages": [{"role": "root", "content": "x"}]}
                ).encode(),
                f"attachments/{'1' * 64}/bomb.bin": bomb,
                "../../etc/passwd": b"root:x:0:0",
            }
        ),
    )
    assert reply.status == 200, reply.body
    assert reply.json["imported"] == 1
    reasons = {s["entry"]: s["reason"] for s in reply.json["skipped"]}
    assert set(reasons) == {
        "hermes-bad.json",
        "hermes-role.json",
        f"attachments/{'1' * 64}/bomb.bin",
        "../../etc/passwd",
    }
    assert "over 25 MB" in reasons[f"attachments/{'1' * 64}/bomb.bin"]
    assert "not part of an export" in reasons["../../etc/passwd"]
    assert not (target.root / "etc").exists()


def test_a_body_that_is_not_a_zip_is_a_clear_400(servers):
    _, target = servers
    reply = send_archive(target, b"PK but not really a zip")
    assert reply.status == 400
    assert reply.json["error"] == "not a zip archive"
