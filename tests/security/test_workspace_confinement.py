"""The workspace routes (`/api/workspace/…`) under attack: they reach exactly what the agent's
file tools reach, and nothing else.

The conversation's workspace here holds the Hermes home and the web server's state directory
(as a workspace that is your home directory would), links to `/etc`, to the Hermes home and to
a directory outside, and a loop of links. Every way out — `..`, absolute paths, URL-encoded
traversal, NUL bytes, links, protected directories — is refused with a JSON 400, 403 or 404
whose body shows nothing from outside; and a directory swapped for a link while requests run
never lets a read or an upload through it.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.support import ServerProcess, request

SECRET = "OUTSIDE-SECRET-CONTENT"
BOUNDARY = "hermes-confinement-boundary"
RACE_TRIES = 300

_LIBC = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100
RENAME_EXCHANGE = 2


def exchange(a: Path, b: Path) -> None:
    """Swap two names in one step, so a directory and a link trade places with no gap."""
    if _LIBC.renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE):
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(a))


class Layout:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.workspace = root / "home" / "project"
        self.hermes_home = self.workspace / ".hermes"
        self.state_dir = self.workspace / "webstate"
        self.outside = root / "outside"


@pytest.fixture(scope="module")
def layout(tmp_path_factory) -> Layout:
    found = Layout(tmp_path_factory.mktemp("confinement"))
    ws = found.workspace
    for directory in (ws / "docs", found.hermes_home, found.state_dir, found.outside):
        directory.mkdir(parents=True)
    (ws / "docs" / "readme.md").write_text("# inside\n")
    (found.hermes_home / "config.yaml").write_text(f"api_key: {SECRET}\n")
    (found.outside / "secret.txt").write_text(SECRET)
    (found.outside / "outside-only.txt").write_text(SECRET)
    os.symlink("/etc", ws / "etc-link")
    os.symlink(found.hermes_home, ws / "home-link")
    os.symlink(found.state_dir, ws / "state-link")
    os.symlink(found.outside, ws / "outside-link")
    os.symlink(found.outside / "secret.txt", ws / "secret-link.txt")
    os.symlink("docs", ws / "inner-link")
    os.symlink("loop-b", ws / "loop-a")
    os.symlink("loop-a", ws / "loop-b")
    return found


@pytest.fixture(scope="module")
def server(layout) -> ServerProcess:
    process = ServerProcess(
        layout.root,
        extra_env={
            "HERMES_HOME": str(layout.hermes_home),
            "HERMES_WEBUI_STATE_DIR": str(layout.state_dir),
        },
    )
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def sid(server, layout) -> str:
    body = {"messages": [], "workspace": str(layout.workspace)}
    reply = request(server.base, "POST", "/api/session/import", body)
    assert reply.status == 200, reply.body
    return reply.json["session"]["session_id"]


def get_raw(server: ServerProcess, route: str, sid: str, encoded_path: str):
    """GET with `path` exactly as given in the URL (already percent-encoded)."""
    return request(
        server.base, "GET", f"/api/workspace/{route}?session_id={sid}&path={encoded_path}"
    )


def get(server: ServerProcess, route: str, sid: str, path: str):
    query = urlencode({"session_id": sid, "path": path})
    return request(server.base, "GET", f"/api/workspace/{route}?{query}")


def assert_refused(reply, statuses: set[int]) -> None:
    assert reply.status in statuses, (reply.status, reply.body)
    assert reply.headers["content-type"].startswith("application/json")
    assert isinstance(reply.json["error"], str) and reply.json["error"]
    assert SECRET.encode() not in reply.body
    assert b"root:" not in reply.body


ESCAPES = [
    ("../../etc/passwd", {400}),
    ("..", {400}),
    ("docs/../../outside/secret.txt", {400}),
    ("/etc/passwd", {400}),
    (str(Path("/etc/passwd")), {400}),
    ("a\x00b", {400}),
    ("etc-link/passwd", {403}),
    ("etc-link", {403}),
    ("home-link/config.yaml", {403}),
    (".hermes/config.yaml", {403}),
    (".hermes", {403}),
    ("webstate", {403}),
    ("webstate/sessions/_index.json", {403}),
    ("state-link/password.json", {403}),
    ("outside-link/secret.txt", {403}),
    ("outside-link", {403}),
    ("secret-link.txt", {403}),
    ("loop-a", {400}),
    ("~/.hermes/config.yaml", {404}),
    ("..\\..\\etc\\passwd", {404}),
]


@pytest.mark.parametrize(("path", "statuses"), ESCAPES, ids=[p for p, _ in ESCAPES])
@pytest.mark.parametrize("route", ["list", "file"])
def test_every_way_out_is_refused_with_a_clear_json_error(server, sid, route, path, statuses):
    assert_refused(get(server, route, sid, path), statuses)


@pytest.mark.parametrize(
    ("encoded", "statuses"),
    [
        ("%2e%2e%2f%2e%2e%2fetc%2fpasswd", {400}),
        ("..%2F..%2Fetc%2Fpasswd", {400}),
        ("%2Fetc%2Fpasswd", {400}),
        ("%252e%252e%252f%252e%252e%252fetc%252fpasswd", {404}),
        ("docs%00.md", {400}),
        ("%C0%AE%C0%AE%2Fetc%2Fpasswd", {404}),
    ],
)
@pytest.mark.parametrize("route", ["list", "file"])
def test_url_encoded_traversal_is_decoded_once_and_refused(server, sid, route, encoded, statuses):
    assert_refused(get_raw(server, route, sid, encoded), statuses)


def test_links_are_listed_as_links_and_never_followed_out(server, sid):
    reply = get(server, "list", sid, "")
    assert reply.status == 200, reply.body
    entries = {e["name"]: e for e in reply.json["entries"]}
    for name in ("etc-link", "home-link", "state-link", "outside-link", "secret-link.txt"):
        assert (entries[name]["kind"], entries[name]["target"]) == ("link", None), name
    assert (entries["loop-a"]["kind"], entries["loop-a"]["target"]) == ("link", None)
    assert (entries["inner-link"]["kind"], entries["inner-link"]["target"]) == ("link", "dir")
    assert entries[".hermes"]["kind"] == "dir"  # shown, but nothing in it can be opened


def test_a_link_that_stays_inside_the_workspace_is_followed_as_the_file_tools_follow_it(
    server, sid
):
    reply = get(server, "list", sid, "inner-link")
    assert reply.status == 200, reply.body
    assert [e["name"] for e in reply.json["entries"]] == ["readme.md"]
    assert get(server, "file", sid, "inner-link/readme.md").body == b"# inside\n"


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


def upload(server: ServerProcess, body: bytes):
    return request(
        server.base,
        "POST",
        "/api/workspace/upload",
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )


def snapshot(*roots: Path) -> set[tuple[str, bytes]]:
    return {
        (str(p), p.read_bytes())
        for root in roots
        for p in root.rglob("*")
        if p.is_file() and not p.is_symlink() and p.suffix != ".log"
    }


@pytest.mark.parametrize(
    ("path", "statuses"),
    [
        ("../", {400}),
        ("..", {400}),
        ("/tmp", {400}),
        ("etc-link", {403}),
        ("outside-link", {403}),
        ("home-link", {403}),
        (".hermes", {403}),
        ("webstate", {403}),
        ("webstate/sessions", {403}),
        ("state-link", {403}),
        ("a\x00b", {400}),
    ],
)
def test_an_upload_cannot_be_written_outside_or_into_protected_directories(
    server, sid, layout, path, statuses
):
    before = snapshot(layout.outside, layout.hermes_home, layout.state_dir / "sessions")
    reply = upload(server, form("pwned.txt", b"pwned", session_id=sid, path=path, overwrite="1"))
    assert_refused(reply, statuses)
    assert not list(layout.root.rglob("pwned.txt"))
    assert not Path("/etc/pwned.txt").exists()
    assert snapshot(layout.outside, layout.hermes_home, layout.state_dir / "sessions") == before


def test_an_upload_onto_a_link_pointing_out_is_refused_as_the_write_tool_refuses_it(
    server, sid, layout
):
    planted = layout.workspace / "planted-link.txt"
    os.symlink(layout.outside / "secret.txt", planted)
    for overwrite in ("0", "1"):
        body = form(
            "planted-link.txt", b"overwritten", session_id=sid, path="", overwrite=overwrite
        )
        assert_refused(upload(server, body), {403})
    assert (layout.outside / "secret.txt").read_text() == SECRET
    assert planted.is_symlink()


@dataclass
class Swapping:
    """A directory in the workspace, `name`, that trades places with a link to the outside
    directory over and over until `stop()`."""

    name: str
    link: Path
    thread: threading.Thread
    stopped: threading.Event

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(5)


@pytest.fixture
def swapping(layout, request) -> Iterator[Swapping]:
    name = f"swap-{request.node.name[-12:]}"
    inside = layout.workspace / name
    inside.mkdir()
    (inside / "secret.txt").write_text("inside")
    link = layout.workspace / f"{name}-link"
    os.symlink(layout.outside, link)
    stopped = threading.Event()

    def keep_swapping() -> None:
        while not stopped.is_set():
            exchange(inside, link)

    thread = threading.Thread(target=keep_swapping, daemon=True)
    thread.start()
    swap = Swapping(name, link, thread, stopped)
    yield swap
    swap.stop()


def test_a_directory_swapped_for_a_link_during_reads_never_shows_outside_content(
    server, sid, swapping
):
    served = refused = 0
    for attempt in range(RACE_TRIES):
        route = "file" if attempt % 2 else "list"
        path = f"{swapping.name}/secret.txt" if route == "file" else swapping.name
        reply = get(server, route, sid, path)
        # 400: the path changed while it was resolved ("it may be changing")
        assert reply.status in (200, 400, 403, 404), (reply.status, reply.body)
        assert SECRET.encode() not in reply.body
        assert b"outside-only" not in reply.body
        served += reply.status == 200
        refused += reply.status != 200
    assert served and refused, "requests met both the real directory and the link"


def test_a_directory_swapped_for_a_link_during_uploads_never_receives_a_file_outside(
    server, sid, layout, swapping
):
    before = snapshot(layout.outside)
    landed = 0
    for attempt in range(RACE_TRIES // 3):
        reply = upload(
            server, form(f"drop{attempt}.txt", b"dropped", session_id=sid, path=swapping.name)
        )
        assert reply.status in (200, 400, 403, 404), (reply.status, reply.body)
        landed += reply.status == 200
    swapping.stop()
    assert snapshot(layout.outside) == before
    real = layout.workspace / swapping.name
    if real.is_symlink():
        real = swapping.link
    assert len(list(real.glob("drop*.txt"))) == landed > 0
