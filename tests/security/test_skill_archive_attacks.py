"""The skill routes under attack: names that would be paths, zips whose entries climb out of
the skills folder, name an absolute path, are symbolic links, inflate past any sane size, or
come in too many; a body over the limit. Each is refused with a JSON 400 or 413 (or listed
as skipped with its reason), never a 500, and nothing is written outside the skills folder,
nor any part of a skill that had a refused entry."""

from __future__ import annotations

import http.client
import io
import json
import socket
import stat
import time
import zipfile
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.support import ServerProcess, request

GOOD = "---\nname: {name}\ndescription: Harmless.\n---\nStep.\n"
BAD_NAMES = ["../escape", "..", ".", "a/b", "a\\b", "/tmp/x", "Trip", "trip_plan", "x\n", "", "é"]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> ServerProcess:
    process = ServerProcess(tmp_path_factory.mktemp("skill-attacks")).start()
    yield process
    process.stop()


def skills_dir(server: ServerProcess) -> Path:
    return server.root / "hermes-home" / "skills"


def everything(server: ServerProcess) -> set[Path]:
    """Every file under the server's root except its log and the skills folder's own."""
    return {
        p
        for p in server.root.rglob("*")
        if p.is_file() and p.suffix != ".log" and skills_dir(server) not in p.parents
    }


def skill_names(server: ServerProcess) -> set[str]:
    return {p.name for p in skills_dir(server).iterdir() if p.is_dir()}


def entry(
    name: str, data: bytes | str, *, mode: int | None = None
) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name, date_time=(2025, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    if mode is not None:
        info.external_attr = mode << 16
        info.create_system = 3  # Unix, so the mode bits mean what they say
    return info, data.encode() if isinstance(data, str) else data


def archive(*entries: tuple[zipfile.ZipInfo, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for info, data in entries:
            zf.writestr(info, data)
    return out.getvalue()


def import_zip(server: ServerProcess, data: bytes):
    return request(
        server.base,
        "POST",
        "/api/skills/import",
        data=data,
        headers={"Content-Type": "application/zip"},
        timeout=60,
    )


@pytest.fixture
def before(server):
    """What lies outside the skills folder, and the skills there, before the test's request."""
    request(server.base, "GET", "/api/skills")  # the shipped skills, installed on first use
    return everything(server), skill_names(server)


def assert_nothing_new(server, before) -> None:
    files, names = before
    assert everything(server) == files
    assert skill_names(server) == names


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_name_that_is_not_a_skill_name_is_a_400_on_every_route(server, before, name):
    replies = [
        request(server.base, "GET", "/api/skill?" + urlencode({"name": name})),
        request(server.base, "GET", "/api/skill/export?" + urlencode({"name": name})),
        request(
            server.base,
            "POST",
            "/api/skill/save",
            {"name": name, "content": GOOD.format(name=name)},
        ),
        request(server.base, "POST", "/api/skill/delete", {"name": name}),
        request(server.base, "POST", "/api/skill/enable", {"name": name, "enabled": False}),
    ]
    for reply in replies:
        assert reply.status == 400, (reply.status, reply.body)
        assert isinstance(reply.json["error"], str)
    assert_nothing_new(server, before)


UNSAFE_ENTRIES = [
    ("trip-plan/../../escaped.txt", ".."),
    ("trip-plan/../../../../tmp/escaped.txt", ".."),
    ("../evil/SKILL.md", ".."),
    ("trip-plan/./x.txt", "."),
    ("trip-plan//x.txt", "empty"),
    ("/trip-plan/x.txt", "absolute"),
    ("/abs/SKILL.md", "absolute"),
    ("C:/trip-plan/x.txt", "absolute"),
    ("trip-plan/..\\..\\escaped.txt", "backslash"),
    ("trip-plan/two\nlines.txt", "control character"),
    ("trip-plan/" + "a" * 300 + ".txt", "255 bytes"),
]


@pytest.mark.parametrize(("bad_entry", "said"), UNSAFE_ENTRIES)
def test_an_entry_that_climbs_out_or_names_an_absolute_path_refuses_the_whole_zip(
    server, before, bad_entry, said
):
    data = archive(
        entry("trip-plan/SKILL.md", GOOD.format(name="trip-plan")),
        entry("other/SKILL.md", GOOD.format(name="other")),
        entry(bad_entry, GOOD.format(name="evil")),
    )
    reply = import_zip(server, data)
    assert reply.status == 400, reply.body
    assert "Nothing was imported" in reply.json["error"]
    refused = {s["entry"]: s["reason"] for s in reply.json["refused"]}
    assert set(refused) == {bad_entry}
    assert said in refused[bad_entry]
    assert_nothing_new(server, before)
    assert not (server.root.parent / "escaped.txt").exists()
    assert not Path("/tmp/escaped.txt").exists()


@pytest.mark.parametrize("target", ["/etc/passwd", "../../outside", "SKILL.md"])
def test_a_symbolic_link_entry_refuses_the_whole_zip(server, before, target):
    data = archive(
        entry("trip-plan/SKILL.md", GOOD.format(name="trip-plan")),
        entry("trip-plan/passwd", target, mode=stat.S_IFLNK | 0o777),
    )
    reply = import_zip(server, data)
    assert reply.status == 400, reply.body
    refused = {s["entry"]: s["reason"] for s in reply.json["refused"]}
    assert "symbolic link" in refused["trip-plan/passwd"]
    assert_nothing_new(server, before)


def test_a_symbolic_link_as_skill_md_is_refused(server, before):
    data = archive(entry("trip-plan/SKILL.md", "/etc/passwd", mode=stat.S_IFLNK | 0o777))
    reply = import_zip(server, data)
    assert reply.status == 400, reply.body
    assert_nothing_new(server, before)


def test_a_zip_bomb_entry_is_refused_after_a_bounded_read(server, before):
    bomb = b"\0" * (64 * 1024 * 1024)  # 64 MB of zeros deflate to about 64 KB
    data = archive(
        entry("trip-plan/SKILL.md", GOOD.format(name="trip-plan")),
        entry("trip-plan/bomb.txt", bomb),
    )
    assert len(data) < 1024 * 1024
    started = time.monotonic()
    reply = import_zip(server, data)
    assert reply.status == 200, reply.body
    assert time.monotonic() - started < 10
    assert reply.json["imported"] == []
    reasons = {s["entry"]: s["reason"] for s in reply.json["skipped"]}
    assert "over 100,000 bytes" in reasons["trip-plan/bomb.txt"]
    assert_nothing_new(server, before)


def test_an_entry_whose_header_understates_its_size_is_still_cut_off(server, before):
    data = bytearray(
        archive(
            entry("trip-plan/SKILL.md", GOOD.format(name="trip-plan")),
            entry("trip-plan/big.txt", b"a" * 300_000),
        )
    )
    # Claim 10 bytes for big.txt, in its local header and its (last) central directory record.
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        local = zf.getinfo("trip-plan/big.txt").header_offset
    central = bytes(data).rfind(b"PK\x01\x02")
    data[local + 22 : local + 26] = (10).to_bytes(4, "little")
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        assert zf.getinfo("trip-plan/big.txt").file_size == 10
    reply = import_zip(server, bytes(data))
    assert reply.status == 200, reply.body
    assert reply.json["imported"] == []
    assert_nothing_new(server, before)


def test_too_many_entries_are_refused_whole(server, before):
    entries = [entry(f"many/f{i}.txt", "x") for i in range(2_100)]
    reply = import_zip(server, archive(entry("many/SKILL.md", GOOD.format(name="many")), *entries))
    assert reply.status == 413, reply.body
    assert "entries" in reply.json["error"]
    assert_nothing_new(server, before)


def test_a_body_declared_over_the_limit_is_a_413_before_it_is_read(server, before):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.putrequest("POST", "/api/skills/import")
        conn.putheader("Content-Type", "application/zip")
        conn.putheader("Content-Length", str(20 * 1024 * 1024 + 1))
        conn.endheaders()
        response = conn.getresponse()
        status, body = response.status, json.loads(response.read())
    finally:
        conn.close()
    assert status == 413
    assert "limit 20 MB" in body["error"]
    assert_nothing_new(server, before)


def test_a_chunked_body_over_the_limit_is_cut_off_as_it_comes(server, before):
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(
            b"POST /api/skills/import HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Transfer-Encoding: chunked\r\nContent-Type: application/zip\r\n\r\n"
        )
        try:
            piece = b"\0" * (1 << 20)
            for _ in range(22):
                sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading once the limit was passed
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413")
    assert_nothing_new(server, before)


def test_a_skill_folder_named_against_the_rules_is_skipped(server, before):
    data = archive(entry("Bad_Name/SKILL.md", GOOD.format(name="Bad_Name")))
    reply = import_zip(server, data)
    assert reply.status == 200, reply.body
    assert reply.json["imported"] == []
    assert "lowercase letters, digits and dashes" in reply.json["skipped"][0]["reason"]
    assert_nothing_new(server, before)


def test_a_file_that_is_not_utf8_text_refuses_its_skill(server, before):
    data = archive(
        entry("trip-plan/SKILL.md", GOOD.format(name="trip-plan")),
        entry("trip-plan/image.bin", b"\xff\xfe\x00\x81"),
    )
    reply = import_zip(server, data)
    assert reply.json["imported"] == [], reply.body
    reasons = {s["entry"]: s["reason"] for s in reply.json["skipped"]}
    assert "UTF-8" in reasons["trip-plan/image.bin"]
    assert_nothing_new(server, before)
