"""Uploads and attachments over HTTP, against a real `hermes web`: types told from the bytes,
limits, bombs, dedup, a kill mid-upload, references from messages and collection."""

from __future__ import annotations

import hashlib
import io
import socket
import struct
import time
import zipfile
import zlib
from pathlib import Path

import pytest
from PIL import Image

from tests.fakes.openai_server import Reply
from tests.support import ServerProcess, fake_provider_env, read_events, request

BOUNDARY = "hermes-test-boundary"
SVG_WITH_SCRIPT = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.fixture(scope="module")
def server(tmp_path_factory, fake):
    process = ServerProcess(
        tmp_path_factory.mktemp("attachments"), extra_env=fake_provider_env(fake)
    )
    process.start()
    yield process
    process.stop()


def png(width: int = 40, height: int = 30, colour: str = "teal") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


def form(filename: str, data: bytes, session_id: str | None = None) -> bytes:
    parts = []
    if session_id is not None:
        parts.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="session_id"\r\n\r\n'
            f"{session_id}\r\n".encode()
        )
    parts.append(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def upload(server: ServerProcess, filename: str, data: bytes, session_id: str | None = None):
    return request(
        server.base,
        "POST",
        "/api/upload",
        data=form(filename, data, session_id),
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        timeout=60,
    )


def blobs(server: ServerProcess) -> Path:
    return server.root / "hermes-home" / "attachments" / "blobs"


def incoming(server: ServerProcess) -> list[str]:
    folder = server.root / "hermes-home" / "attachments" / "incoming"
    return [p.name for p in folder.iterdir()] if folder.exists() else []


def bomb_png(width: int, height: int) -> bytes:
    """A real PNG declaring width×height one-bit pixels, all zero: a few KB on disk."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    row = b"\0" * (1 + (width + 7) // 8)
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def test_an_image_upload_is_described_from_its_bytes_and_served_inline_with_a_thumbnail(server):
    data = png(400, 300)
    reply = upload(server, "holiday.png", data)
    assert reply.status == 200, reply.body
    assert reply.json == {
        "id": hashlib.sha256(data).hexdigest(),
        "filename": "holiday.png",
        "size": len(data),
        "mime": "image/png",
        "is_image": True,
        "width": 400,
        "height": 300,
    }
    served = request(server.base, "GET", f"/api/attachment/{reply.json['id']}")
    assert served.status == 200 and served.body == data
    assert served.headers["content-type"] == "image/png"
    assert served.headers["content-disposition"].startswith("inline;")
    assert served.headers["x-content-type-options"] == "nosniff"

    thumb = request(server.base, "GET", f"/api/attachment/{reply.json['id']}/thumbnail")
    assert thumb.status == 200 and thumb.headers["content-type"] == "image/webp"
    with Image.open(io.BytesIO(thumb.body)) as small:
        assert max(small.size) <= 320 and small.size[0] > small.size[1]


@pytest.mark.parametrize(
    ("name", "data", "mime"),
    [
        ("notes.txt", png(), "image/png"),  # a PNG is a PNG, whatever it is called
        ("cat.png", SVG_WITH_SCRIPT, "text/plain"),  # and SVG is never an image here
        ("page.jpg", b"<html><script>alert(1)</script></html>", "text/plain"),
        ("data.csv", b"a,b\n1,2\n", "text/csv"),
        ("blob.txt", bytes(range(256)) * 4, "application/octet-stream"),
        ("paper.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "application/pdf"),
    ],
)
def test_the_type_is_sniffed_from_the_bytes_and_only_raster_images_are_inline(
    server, name, data, mime
):
    reply = upload(server, name, data)
    assert reply.status == 200, reply.body
    assert reply.json["mime"] == mime
    served = request(server.base, "GET", f"/api/attachment/{reply.json['id']}")
    if mime.startswith("image/"):
        assert served.headers["content-type"] == mime
        return
    assert served.headers["content-type"] == "application/octet-stream"
    assert served.headers["content-disposition"].startswith("attachment;")


def test_hostile_names_are_cleaned_and_never_reach_the_disk(server):
    reply = upload(server, "../../etc/\x07passwd", b"root:x:0:0\n")
    assert reply.status == 200
    assert reply.json["filename"] == "passwd"
    assert not (server.root / "etc").exists()


def test_the_same_bytes_are_stored_once(server):
    data = png(12, 12, "orange")
    first = upload(server, "a.png", data).json
    second = upload(server, "b.png", data).json
    assert first["id"] == second["id"]
    assert len(list(blobs(server).glob(first["id"] + "*"))) == 2  # the bytes and their description


def test_a_file_over_the_limit_is_refused_with_413_and_leaves_nothing(server):
    too_big = b"x" * (25 * 1024 * 1024 + 1)
    reply = upload(server, "big.txt", too_big)
    assert reply.status == 413
    assert "25 MB" in reply.json["error"]
    assert not (blobs(server) / hashlib.sha256(too_big).hexdigest()).exists()
    assert incoming(server) == []


def test_a_chunked_upload_over_the_limit_is_cut_off_as_it_comes(server):
    body = form("big.bin", b"\0" * (26 * 1024 * 1024))
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(
            b"POST /api/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
            + f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n\r\n".encode()
        )
        try:
            for start in range(0, len(body), 1 << 20):
                piece = body[start : start + (1 << 20)]
                sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading once the limit was passed
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413")
    assert incoming(server) == []


def test_a_decompression_bomb_is_refused_before_it_is_decoded(server):
    bomb = bomb_png(20_000, 20_000)
    assert len(bomb) < 200_000
    reply = upload(server, "innocent.png", bomb)
    assert reply.status == 400
    assert "too large" in reply.json["error"]
    assert request(server.base, "GET", "/health").status == 200


@pytest.mark.parametrize(
    ("body", "content_type", "error"),
    [
        (b'{"file": "x"}', "application/json", "multipart/form-data"),
        (b"--x\r\nnonsense", f"multipart/form-data; boundary={BOUNDARY}", "malformed"),
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhi\r\n'
            f"--{BOUNDARY}--\r\n".encode(),
            f"multipart/form-data; boundary={BOUNDARY}",
            "no `file` field",
        ),
        (form("empty.txt", b""), f"multipart/form-data; boundary={BOUNDARY}", "empty"),
    ],
)
def test_malformed_uploads_get_a_clear_400(server, body, content_type, error):
    reply = request(
        server.base, "POST", "/api/upload", data=body, headers={"Content-Type": content_type}
    )
    assert reply.status == 400, reply.body
    assert error in reply.json["error"]


@pytest.mark.parametrize("ident", ["0" * 63, "..%2F..%2Fstate.db", "A" * 64, "blobs"])
def test_unknown_and_path_like_ids_are_404(server, ident):
    assert request(server.base, "GET", f"/api/attachment/{ident}").status == 404


def test_a_cross_origin_upload_is_refused(server):
    reply = request(
        server.base,
        "POST",
        "/api/upload",
        data=form("x.txt", b"hello"),
        headers={
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Origin": "https://evil.example",
        },
    )
    assert reply.status == 403


def test_a_kill_mid_upload_leaves_no_partial_file_to_serve(tmp_path):
    server = ServerProcess(tmp_path)
    server.start()
    whole = png(800, 800, "navy") + b"\0" * 500_000
    body = form("half.png", whole)
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(
                b"POST /api/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                + f"Content-Length: {len(body)}\r\n".encode()
                + f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n\r\n".encode()
                + body[: len(body) // 2]
            )
            deadline = time.monotonic() + 5
            while not incoming(server) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert incoming(server), "the upload was being written"
            server.kill()
        server.start()
        assert incoming(server) == [], "a dead writer's partial file is removed at start"
        digest = hashlib.sha256(whole).hexdigest()
        assert request(server.base, "GET", f"/api/attachment/{digest}").status == 404
        again = upload(server, "half.png", whole)
        assert again.status == 200 and again.json["id"] == digest
    finally:
        server.stop()


def test_a_message_refers_to_its_files_and_they_go_with_the_last_conversation(server, fake):
    data = png(20, 20, "purple")
    first = _session(server)
    second = _session(server)
    sent = upload(server, "shared.png", data, session_id=first).json
    fake.script(Reply.text("A purple square."))
    started = _start(server, second, [sent["id"]])
    assert started.status == 200, started.body
    read_events(server.base, started.json["stream_id"])
    shown = request(server.base, "GET", f"/api/session?session_id={second}").json["session"]
    user = next(m for m in shown["messages"] if m["role"] == "user")
    assert user["attachments"] == [sent]

    request(server.base, "POST", "/api/session/delete", {"session_id": first})
    assert request(server.base, "GET", f"/api/attachment/{sent['id']}").status == 200
    request(server.base, "POST", "/api/session/delete", {"session_id": second})
    assert request(server.base, "GET", f"/api/attachment/{sent['id']}").status == 404
    assert not (blobs(server) / sent["id"]).exists()


def test_the_zip_export_holds_each_file_a_message_carries_once(server, fake):
    data = png(24, 24, "olive")
    sid = _session(server)
    sent = upload(server, "olive.png", data).json
    for text in ("first look", "second look"):
        fake.script(Reply.text("Olive."))
        started = _start(server, sid, [sent["id"]], text)
        read_events(server.base, started.json["stream_id"])

    reply = request(server.base, "GET", "/api/sessions/export")
    with zipfile.ZipFile(io.BytesIO(reply.body)) as archive:
        names = archive.namelist()
        assert names.count(f"attachments/{sent['id']}/olive.png") == 1
        assert archive.read(f"attachments/{sent['id']}/olive.png") == data


def test_a_message_with_an_unknown_file_or_too_many_files_is_refused(server):
    sid = _session(server)
    assert _start(server, sid, ["f" * 64]).status == 404
    ids = [upload(server, f"{i}.txt", f"file {i}".encode()).json["id"] for i in range(11)]
    refused = _start(server, sid, ids)
    assert refused.status == 400
    assert "at most 10 files" in refused.json["error"]


def _session(server: ServerProcess) -> str:
    return request(server.base, "POST", "/api/session/new", {}).json["session"]["session_id"]


def _start(server: ServerProcess, sid: str, attachments: list, text: str = "look at this"):
    body = {"session_id": sid, "message": text, "attachments": attachments}
    return request(server.base, "POST", "/api/chat/start", body)


def test_a_branch_keeps_the_files_of_the_messages_it_takes(server, fake):
    source = _session(server)
    sent = upload(server, "kept.png", png(16, 16, "orange"), session_id=source).json
    fake.script(Reply.text("An orange square."))
    read_events(server.base, _start(server, source, [sent["id"]]).json["stream_id"])

    reply = request(
        server.base, "POST", "/api/session/branch", {"session_id": source, "keep_count": 2}
    )
    assert reply.status == 200, reply.body
    branch = reply.json["session"]
    assert branch["messages"][0]["attachments"] == [sent]

    request(server.base, "POST", "/api/session/delete", {"session_id": source})
    assert request(server.base, "GET", f"/api/attachment/{sent['id']}").status == 200
    request(server.base, "POST", "/api/session/delete", {"session_id": branch["session_id"]})
    assert request(server.base, "GET", f"/api/attachment/{sent['id']}").status == 404
