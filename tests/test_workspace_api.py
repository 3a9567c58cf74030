"""A conversation's workspace over HTTP, against a real `hermes web`: listing and paging,
previews by type, downloads, uploads, and the files the agent changed in a turn.

The attacks on the confinement (traversal, links, protected directories, races) are in
`tests/security/test_workspace_confinement.py`.
"""

from __future__ import annotations

import io
import itertools
import os
import time
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from PIL import Image

from tests.fakes.openai_server import Reply
from tests.support import ServerProcess, fake_provider_env, read_events, request

BOUNDARY = "hermes-workspace-boundary"
PREVIEW_BYTES = 1024 * 1024
_names = itertools.count()


@pytest.fixture(scope="module")
def server(tmp_path_factory, fake):
    process = ServerProcess(tmp_path_factory.mktemp("workspace"), extra_env=fake_provider_env(fake))
    process.start()
    yield process
    process.stop()


@pytest.fixture
def ws(server) -> tuple[str, Path]:
    """A conversation of its own, in a workspace of its own under the server's home."""
    return conversation(server)


def conversation(server: ServerProcess) -> tuple[str, Path]:
    path = server.home / f"project-{next(_names)}"
    path.mkdir()
    reply = request(
        server.base, "POST", "/api/session/import", {"messages": [], "workspace": str(path)}
    )
    assert reply.status == 200, reply.body
    return reply.json["session"]["session_id"], path


def get(server: ServerProcess, route: str, **query: object):
    return request(server.base, "GET", f"/api/workspace/{route}?{urlencode(query)}")


def listing(server: ServerProcess, sid: str, path: str = "", **query: object) -> dict:
    reply = get(server, "list", session_id=sid, path=path, **query)
    assert reply.status == 200, reply.body
    return reply.json


def png(width: int = 30, height: int = 20) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "teal").save(out, "PNG")
    return out.getvalue()


def form(filename: str, data: bytes, **fields: str) -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def upload(server: ServerProcess, body: bytes, headers: dict[str, str] | None = None):
    return request(
        server.base,
        "POST",
        "/api/workspace/upload",
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}", **(headers or {})},
        timeout=60,
    )


def leftovers(directory: Path) -> list[str]:
    """Temp files an upload left behind: none, whatever happened."""
    return [p.name for p in directory.rglob("*") if p.name.endswith(".tmp")]


# ── listing ──────────────────────────────────────────────────────────────────────────────
def test_a_directory_lists_its_directories_first_then_files_by_name_with_size_and_time(server, ws):
    sid, root = ws
    (root / "src").mkdir()
    (root / "Docs").mkdir()
    (root / "b.txt").write_text("bee")
    (root / "A.md").write_text("# A\n")
    os.symlink("b.txt", root / "link-to-b")
    os.utime(root / "b.txt", (1_700_000_000, 1_700_000_000))

    body = listing(server, sid)
    assert [(e["name"], e["kind"]) for e in body["entries"]] == [
        ("Docs", "dir"),
        ("src", "dir"),
        ("A.md", "file"),
        ("b.txt", "file"),
        ("link-to-b", "link"),
    ]
    by_name = {e["name"]: e for e in body["entries"]}
    assert by_name["link-to-b"]["target"] == "file"
    assert "target" not in by_name["b.txt"]
    assert by_name["b.txt"]["size"] == 3
    assert by_name["b.txt"]["mtime"] == 1_700_000_000
    assert by_name["src"]["size"] is None
    assert body["total"] == 5 and body["offset"] == 0 and body["limit"] == 200
    assert body["path"] == ""


def test_a_subdirectory_is_listed_by_its_path_however_it_is_spelt(server, ws):
    sid, root = ws
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "pkg" / "mod.py").write_text("x = 1\n")
    for spelling in ("src/pkg", "src/pkg/", "./src//pkg"):
        body = listing(server, sid, spelling)
        assert body["path"] == "src/pkg"
        assert [e["name"] for e in body["entries"]] == ["mod.py"]


def test_a_huge_directory_comes_in_pages_with_its_total(server, ws):
    sid, root = ws
    many = root / "many"
    many.mkdir()
    for i in range(1205):
        (many / f"f{i:04d}").touch()
    first = listing(server, sid, "many")
    assert first["total"] == 1205 and len(first["entries"]) == 200
    seen = []
    for offset in range(0, 1205, 1000):
        page = listing(server, sid, "many", offset=offset, limit=1000)
        seen += [e["name"] for e in page["entries"]]
    assert seen == [f"f{i:04d}" for i in range(1205)]
    assert get(server, "list", session_id=sid, path="many", limit=1001).status == 400
    assert get(server, "list", session_id=sid, path="many", limit=0).status == 400
    assert listing(server, sid, "many", offset=5000)["entries"] == []


def test_a_missing_directory_is_404_and_a_file_is_not_a_directory(server, ws):
    sid, root = ws
    (root / "notes.txt").write_text("hi")
    missing = get(server, "list", session_id=sid, path="nowhere")
    assert missing.status == 404 and missing.json["error"]
    not_dir = get(server, "list", session_id=sid, path="notes.txt")
    assert not_dir.status == 400 and "not a directory" in not_dir.json["error"]


def test_a_name_that_is_not_utf8_is_listed_with_a_replacement_character(server, ws):
    sid, root = ws
    with open(os.fsencode(root) + b"/bad\xff.txt", "wb") as f:
        f.write(b"x")
    assert [e["name"] for e in listing(server, sid)["entries"]] == ["bad\ufffd.txt"]


def test_a_directory_reached_through_a_link_to_a_name_that_is_not_utf8_lists(server, ws):
    sid, root = ws
    os.mkdir(os.fsencode(root) + b"/caf\xe9")
    (root / "cafe").symlink_to(os.fsdecode(b"caf\xe9"))
    body = listing(server, sid, "cafe")
    assert body["path"] == "caf\ufffd" and body["entries"] == []


def test_git_internals_can_be_listed_and_read(server, ws):
    sid, root = ws
    (root / ".git" / "hooks").mkdir(parents=True)
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    assert [e["name"] for e in listing(server, sid, ".git")["entries"]] == ["hooks", "HEAD"]
    assert get(server, "file", session_id=sid, path=".git/HEAD").body == b"ref: refs/heads/main\n"


def test_an_unknown_conversation_is_404_on_every_route(server):
    for route in ("list", "file", "changes"):
        reply = get(server, route, session_id="nosuchsession0", path="x")
        assert reply.status == 404, (route, reply.body)
    reply = upload(server, form("a.txt", b"a", session_id="nosuchsession0", path=""))
    assert reply.status == 404


def test_a_new_conversation_in_the_default_workspace_lists_it_even_before_it_exists(server):
    sid = request(server.base, "POST", "/api/session/new", {}).json["session"]["session_id"]
    if server.workspace.exists():
        server.workspace.rmdir()
    assert listing(server, sid)["entries"] == []
    assert not server.workspace.exists(), "a read never creates the workspace"


# ── preview and download ─────────────────────────────────────────────────────────────────
def test_a_text_file_previews_inline_as_utf8_plain_text(server, ws):
    sid, root = ws
    (root / "main.py").write_text("print('héllo')\n")
    reply = get(server, "file", session_id=sid, path="main.py")
    assert reply.status == 200
    assert reply.body == "print('héllo')\n".encode()
    assert reply.headers["content-type"] == "text/plain; charset=utf-8"
    assert reply.headers["content-disposition"].startswith("inline;")
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["x-hermes-truncated"] == "false"
    assert reply.headers["x-hermes-size"] == str(len(reply.body))


@pytest.mark.parametrize("name", ["notes.md", "data.json", "page.html", "drawing.svg"])
def test_markdown_and_json_preview_as_text_while_html_and_svg_only_download(server, ws, name):
    sid, root = ws
    text = {
        "notes.md": "# Title\n",
        "data.json": '{"a": 1}\n',
        "page.html": "<html><script>alert(1)</script></html>",
        "drawing.svg": '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    }[name]
    (root / name).write_text(text)
    reply = get(server, "file", session_id=sid, path=name)
    assert reply.status == 200 and reply.body == text.encode()
    if name in ("page.html", "drawing.svg"):
        assert reply.headers["content-type"] == "application/octet-stream"
        assert reply.headers["content-disposition"].startswith("attachment;")
    else:
        assert reply.headers["content-type"] == "text/plain; charset=utf-8"


def test_a_large_text_file_previews_its_first_megabyte_and_says_it_was_cut(server, ws):
    sid, root = ws
    line = "ünïcode line of text\n"
    whole = line * (2 * PREVIEW_BYTES // len(line.encode()))
    (root / "big.log").write_text(whole)
    reply = get(server, "file", session_id=sid, path="big.log")
    assert reply.status == 200
    assert len(reply.body) <= PREVIEW_BYTES
    assert len(reply.body) > PREVIEW_BYTES - 4
    assert whole.encode().startswith(reply.body)
    reply.body.decode("utf-8")  # never cut inside a character
    assert reply.headers["x-hermes-truncated"] == "true"
    assert reply.headers["x-hermes-size"] == str(len(whole.encode()))
    whole_download = get(server, "file", session_id=sid, path="big.log", download=1)
    assert whole_download.body == whole.encode()


def test_a_raster_image_previews_inline_with_the_type_its_bytes_say(server, ws):
    sid, root = ws
    data = png()
    (root / "picture.txt").write_bytes(data)
    reply = get(server, "file", session_id=sid, path="picture.txt")
    assert reply.status == 200 and reply.body == data
    assert reply.headers["content-type"] == "image/png"
    assert reply.headers["content-disposition"].startswith("inline;")


def test_binary_files_download_as_octet_stream(server, ws):
    sid, root = ws
    blob = bytes(range(256)) * 64
    (root / "blob.bin").write_bytes(blob)
    reply = get(server, "file", session_id=sid, path="blob.bin")
    assert reply.status == 200 and reply.body == blob
    assert reply.headers["content-type"] == "application/octet-stream"
    assert reply.headers["content-disposition"] == 'attachment; filename="blob.bin"'


def test_download_forces_an_attachment_with_a_safe_file_name(server, ws):
    sid, root = ws
    name = 'Résumé "final"; v2.md'
    (root / name).write_text("# CV\n")
    reply = get(server, "file", session_id=sid, path=name, download=1)
    assert reply.status == 200 and reply.body == b"# CV\n"
    assert reply.headers["content-type"] == "application/octet-stream"
    disposition = reply.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="Resume final ; v2.md"')
    assert f"filename*=UTF-8''{quote(name, safe='')}" in disposition


def test_a_directory_or_a_missing_file_is_not_a_file(server, ws):
    sid, root = ws
    (root / "dir").mkdir()
    assert get(server, "file", session_id=sid, path="dir").status == 400
    assert get(server, "file", session_id=sid, path="nope.txt").status == 404
    assert get(server, "file", session_id=sid, path="").status == 400
    os.mkfifo(root / "pipe")
    assert get(server, "file", session_id=sid, path="pipe").status == 400


# ── upload ───────────────────────────────────────────────────────────────────────────────
def test_an_upload_lands_in_the_directory_it_names(server, ws):
    sid, root = ws
    (root / "in").mkdir()
    reply = upload(server, form("report.csv", b"a,b\n1,2\n", session_id=sid, path="in"))
    assert reply.status == 200, reply.body
    assert reply.json == {
        "path": "in/report.csv",
        "name": "report.csv",
        "size": 8,
        "overwritten": False,
    }
    assert (root / "in" / "report.csv").read_bytes() == b"a,b\n1,2\n"
    assert leftovers(root) == []
    assert [e["name"] for e in listing(server, sid, "in")["entries"]] == ["report.csv"]


def test_an_upload_to_the_root_and_an_empty_file_are_fine(server, ws):
    sid, root = ws
    reply = upload(server, form("__init__.py", b"", session_id=sid, path=""))
    assert reply.status == 200, reply.body
    assert (root / "__init__.py").read_bytes() == b""


def test_an_upload_keeps_only_the_last_part_of_the_name_it_was_given(server, ws):
    sid, root = ws
    reply = upload(server, form("../../up/and/away.txt", b"x", session_id=sid, path=""))
    assert reply.status == 200, reply.body
    assert reply.json["path"] == "away.txt"
    assert (root / "away.txt").read_bytes() == b"x"
    assert not (server.home / "up").exists()


@pytest.mark.parametrize("name", ["", ".", "..", "bad\x01name", "a" * 256])
def test_an_unusable_file_name_is_refused(server, ws, name):
    sid, root = ws
    reply = upload(server, form(name, b"x", session_id=sid, path=""))
    assert reply.status == 400, reply.body
    assert list(root.iterdir()) == []


def test_an_upload_over_an_existing_file_is_409_unless_it_says_overwrite(server, ws):
    sid, root = ws
    target = root / "keep.txt"
    target.write_text("original")
    target.chmod(0o640)
    refused = upload(server, form("keep.txt", b"new", session_id=sid, path=""))
    assert refused.status == 409 and "overwrite" in refused.json["error"]
    assert refused.json["reason"] == "exists"
    assert target.read_text() == "original"
    assert leftovers(root) == []
    replaced = upload(server, form("keep.txt", b"new", session_id=sid, path="", overwrite="1"))
    assert replaced.status == 200, replaced.body
    assert replaced.json["overwritten"] is True
    assert target.read_text() == "new"
    assert target.stat().st_mode & 0o777 == 0o640
    assert leftovers(root) == []


def test_an_upload_never_replaces_a_directory(server, ws):
    sid, root = ws
    (root / "taken").mkdir()
    for overwrite in ("0", "1"):
        reply = upload(server, form("taken", b"x", session_id=sid, path="", overwrite=overwrite))
        assert reply.status == 409 and reply.json["reason"] == "directory"
    assert (root / "taken").is_dir()


@pytest.mark.parametrize(
    ("path", "name"),
    [(".git", "config"), (".git/hooks", "pre-commit"), ("", ".git"), ("sub/.GIT", "config")],
)
def test_an_upload_into_git_internals_is_refused(server, ws, path, name):
    sid, root = ws
    (root / "sub" / ".GIT").mkdir(parents=True)
    (root / ".git" / "hooks").mkdir(parents=True)
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    reply = upload(server, form(name, b"[core]\nfsmonitor = evil\n", session_id=sid, path=path))
    assert reply.status == 403, reply.body
    assert ".git" in reply.json["error"]
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before


def test_an_upload_over_25_mb_is_413_and_leaves_nothing(server, ws):
    sid, root = ws
    reply = upload(server, form("big.bin", b"\0" * (25 * 1024 * 1024 + 1), session_id=sid, path=""))
    assert reply.status == 413
    assert "25 MB" in reply.json["error"]
    assert list(root.iterdir()) == []


def test_a_cross_origin_upload_is_403_and_writes_nothing(server, ws):
    sid, root = ws
    reply = upload(
        server,
        form("x.txt", b"hello", session_id=sid, path=""),
        headers={"Origin": "https://evil.example"},
    )
    assert reply.status == 403
    assert list(root.iterdir()) == []


def test_an_upload_names_its_conversation_and_directory_before_the_file(server, ws):
    sid, root = ws
    late = (
        form("x.txt", b"x").replace(f"--{BOUNDARY}--\r\n".encode(), b"")
        + (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="session_id"\r\n\r\n{sid}\r\n'
            f"--{BOUNDARY}--\r\n"
        ).encode()
    )
    reply = upload(server, late)
    assert reply.status == 400 and "before the file" in reply.json["error"]
    assert upload(server, form("x.txt", b"x", path="")).status == 400
    assert list(root.iterdir()) == []


def test_an_upload_into_a_missing_directory_is_404(server, ws):
    sid, root = ws
    reply = upload(server, form("x.txt", b"x", session_id=sid, path="not/there"))
    assert reply.status == 404
    assert list(root.iterdir()) == []


# ── what the agent changed ───────────────────────────────────────────────────────────────
def start(server: ServerProcess, sid: str, text: str):
    reply = request(server.base, "POST", "/api/chat/start", {"session_id": sid, "message": text})
    assert reply.status == 200, reply.body
    return reply.json["stream_id"]


def changes(server: ServerProcess, sid: str, **query: object) -> dict:
    reply = get(server, "changes", session_id=sid, **query)
    assert reply.status == 200, reply.body
    return reply.json


def test_changes_are_the_files_the_agent_wrote_or_edited_in_the_latest_turn(server, fake, ws):
    sid, root = ws
    (root / "old.txt").write_text("one two")
    (root / "untouched.txt").write_text("same")
    fake.script(
        Reply.tool_calls(
            [
                ("write_file", {"path": "docs/new.md", "content": "# New\n"}),
                ("edit_file", {"path": "old.txt", "old_string": "one", "new_string": "1"}),
                ("edit_file", {"path": "untouched.txt", "old_string": "absent", "new_string": "x"}),
                ("write_file", {"path": "../outside.txt", "content": "no"}),
            ]
        ),
        Reply.text("Done."),
    )
    read_events(server.base, start(server, sid, "write things"))
    body = changes(server, sid)
    assert body["live"] is False
    assert [(f["path"], f["tool"]) for f in body["files"]] == [
        ("docs/new.md", "write_file"),
        ("old.txt", "edit_file"),
    ]
    assert body["files"][0]["size"] == 6

    fake.script(
        Reply.tool_calls([("write_file", {"path": str(root / "second.txt"), "content": "2"})]),
        Reply.text("Again."),
    )
    first_turn_end = time.time()
    read_events(server.base, start(server, sid, "and another"))
    assert [f["path"] for f in changes(server, sid)["files"]] == ["second.txt"]
    every = changes(server, sid, since=first_turn_end - 3600)
    assert [f["path"] for f in every["files"]] == ["docs/new.md", "old.txt", "second.txt"]


def test_changes_of_a_live_turn_include_what_it_has_written_so_far(server, fake, ws):
    sid, _ = ws
    fake.script(
        Reply.tool_calls([("write_file", {"path": "live.txt", "content": "now"})]),
        Reply.text("still talking " * 40, delay=0.1),
    )
    stream_id = start(server, sid, "write while you talk")
    deadline = time.monotonic() + 10
    body = changes(server, sid)
    while not body["files"] and time.monotonic() < deadline:
        time.sleep(0.05)
        body = changes(server, sid)
    assert body["live"] is True and body["stream_id"] == stream_id
    assert [f["path"] for f in body["files"]] == ["live.txt"]
    assert [f["path"] for f in changes(server, sid, since=stream_id)["files"]] == ["live.txt"]
    read_events(server.base, stream_id, timeout=30)
    after = changes(server, sid)
    assert after["live"] is False
    assert [f["path"] for f in after["files"]] == ["live.txt"]
    gone = get(server, "changes", session_id=sid, since=stream_id)
    assert gone.status == 404


def test_a_conversation_without_turns_has_no_changes(server, ws):
    sid, _ = ws
    assert changes(server, sid) == {
        "session_id": sid,
        "live": False,
        "stream_id": None,
        "turn_started_at": None,
        "files": [],
    }
