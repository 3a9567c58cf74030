"""A conversation's workspace for the browser: its directories listed, its files read, files
uploaded into it, all confined exactly as the agent's file tools are.

A path is text relative to the workspace. What cannot name something inside as written is
refused before the disk is touched (400): NUL bytes, absolute paths, `..` components. The path
is then resolved, links followed, by the file tools' own `resolve_path`: a path that leads out
through a link, or into the Hermes home or the web server's state directory, is refused (403).
The resolved path is opened one component at a time without following links (`confined`), so
a link swapped in between the check and the use is refused (403) instead of followed.
Repository metadata is read-only here: an upload into a `.git` is refused (403), because its
config and hooks run commands on the next git command, and nobody is asked in a browser
upload as the agent's writes are.

An upload goes to a new temp file in the directory it was checked in (whose descriptor stays
open, so the file lands there even if the path is swapped meanwhile), is fsynced, and is then
put in place in one step: linked to its name, which fails if the name exists, or renamed over
it when the client asked to overwrite. Readers never see a partial file.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import secrets
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from api import agent_runtime, config
from api.models import get_session
from hermes_agent.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    HermesError,
    NotFound,
    PayloadTooLarge,
)
from hermes_agent.file_types import Sniffed, sniff_file
from hermes_agent.tools import confined
from hermes_agent.tools.files import is_git_name, resolve_path

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 25 * 1024 * 1024
MAX_NAME_BYTES = 255
DEFAULT_LIMIT = 200
MAX_LIMIT = 1000
_UNSAFE_NAME = {chr(c) for c in range(32)} | {"\x7f", "/"}
_NO_LINK = frozenset({errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.EXDEV})


@dataclass(frozen=True)
class Workspace:
    """A conversation's workspace: its resolved root and the directories it may not touch."""

    root: Path
    protected: tuple[Path, ...]
    is_default: bool

    @property
    def exists(self) -> bool:
        return self.root.is_dir()

    def locate(self, raw: str) -> tuple[str, ...]:
        """The components below the root of the resolved path `raw` names (see the module)."""
        return self.resolve(relative_parts(raw))

    def resolve(self, parts: tuple[str, ...]) -> tuple[str, ...]:
        resolved = resolve_path(self.root, self.protected, str(self.root.joinpath(*parts)))
        return resolved.relative_to(self.root).parts


def workspace_of(session_id: str) -> Workspace:
    """The workspace of conversation `session_id` (404 for an unknown one)."""
    session = get_session(session_id, metadata_only=True)
    given = Path(session.workspace)
    try:
        root = given.resolve()
    except (OSError, RuntimeError) as exc:
        raise NotFound(f"the conversation's workspace cannot be used: {exc}") from None
    return Workspace(root, agent_runtime.protected_paths(), given == config.DEFAULT_WORKSPACE)


def relative_parts(raw: str) -> tuple[str, ...]:
    """The components of a workspace-relative path, `.` and empty ones left out."""
    if "\x00" in raw:
        raise BadRequest("path contains a NUL byte")
    if raw.startswith("/"):
        raise BadRequest("path must be relative to the workspace, not absolute")
    parts = tuple(part for part in raw.split("/") if part not in ("", "."))
    if ".." in parts:
        raise BadRequest("path must not contain `..`: it names places inside the workspace")
    return parts


def shown(parts: tuple[str, ...]) -> str:
    """A path as replies show it (resolved through links, a name may not be UTF-8)."""
    return _text("/".join(parts))


@contextlib.contextmanager
def opening(raw: str) -> Iterator[None]:
    """Failures to open a checked path, as the errors a client can act on."""
    try:
        yield
    except confined.LinkRefused:
        raise Forbidden(
            f"{raw or 'the workspace'}: part of the path is a symbolic link that appeared "
            "after it was checked, and is not followed"
        ) from None
    except FileNotFoundError:
        raise NotFound(f"{raw} is not in the workspace") from None
    except PermissionError:
        raise Forbidden(f"{raw}: permission denied") from None
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            raise BadRequest(f"{raw[:80]}…: a name in the path is too long") from None
        raise


# ── listing ──────────────────────────────────────────────────────────────────────────────
def list_directory(ws: Workspace, raw: str, offset: int, limit: int) -> dict[str, Any]:
    """One page of the directory's entries, directories first, then by name."""
    parts = ws.locate(raw)
    page = {"path": shown(parts), "entries": [], "total": 0, "offset": offset, "limit": limit}
    if not ws.exists:
        if parts or not ws.is_default:
            raise NotFound("the conversation's workspace does not exist (yet)")
        return page  # the default workspace is made when the agent first works there
    with opening(raw):
        try:
            with confined.open_dir(ws.root, parts) as fd:
                rows = _sorted_entries(fd)
                page["total"] = len(rows)
                page["entries"] = _described(ws, parts, fd, rows[offset : offset + limit])
        except NotADirectoryError:
            raise BadRequest(f"{raw} is not a directory") from None
    return page


def _sorted_entries(fd: int) -> list[tuple[str, str]]:
    with os.scandir(fd) as scan:
        rows = [(_kind(entry), entry.name) for entry in scan]
    rows.sort(key=lambda row: (row[0] != "dir", _text(row[1]).casefold(), row[1]))
    return rows


def _kind(entry: os.DirEntry) -> str:
    if entry.is_symlink():
        return "link"
    if entry.is_dir(follow_symlinks=False):
        return "dir"
    return "file" if entry.is_file(follow_symlinks=False) else "other"


def _described(
    ws: Workspace, parts: tuple[str, ...], fd: int, rows: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    entries = []
    for kind, name in rows:
        entry = _describe(fd, name, kind)
        if entry is None:
            continue
        if kind == "link":
            entry["target"] = _link_target(ws, (*parts, name))
        entries.append(entry)
    return entries


def _describe(parent: int, name: str, kind: str) -> dict[str, Any] | None:
    """The entry as the reply shows it; None when it vanished since the directory was read."""
    try:
        info = os.stat(name, dir_fd=parent, follow_symlinks=False)
    except FileNotFoundError:
        return None
    size = info.st_size if kind == "file" else None
    return {"name": _text(name), "kind": kind, "size": size, "mtime": info.st_mtime}


def _link_target(ws: Workspace, parts: tuple[str, ...]) -> str | None:
    """What a link leads to, `dir` or `file`, when the routes here would follow it (inside the
    workspace, outside protected directories); None otherwise. Only a hint for the page: the
    target is opened, when asked for, as every path is."""
    try:
        resolved = resolve_path(ws.root, ws.protected, str(ws.root.joinpath(*parts)))
        mode = resolved.stat().st_mode
    except (HermesError, OSError):
        return None
    if stat.S_ISDIR(mode):
        return "dir"
    return "file" if stat.S_ISREG(mode) else None


def _text(name: str) -> str:
    """A file name as JSON can carry it: bytes that are not UTF-8 become U+FFFD."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


# ── reading ──────────────────────────────────────────────────────────────────────────────
@dataclass
class OpenFile:
    """A regular file of the workspace, open for reading; the caller closes `file`."""

    file: BinaryIO
    name: str
    size: int
    kind: Sniffed | None  # None: too large an image to look at safely

    def close(self) -> None:
        self.file.close()


def open_file(ws: Workspace, raw: str) -> OpenFile:
    """The regular file `raw` names, open, with its size and sniffed type."""
    parts = ws.locate(raw)
    if not parts:
        raise BadRequest("the workspace itself is a directory, not a file")
    if not ws.exists:
        raise NotFound(f"{raw} is not in the workspace")
    with opening(raw):
        try:
            with confined.open_dir(ws.root, parts[:-1]) as parent:
                fd = confined.open_child(parent, parts[-1], confined.FILE_FLAGS)
        except NotADirectoryError:
            raise NotFound(f"{raw} is not in the workspace") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise BadRequest(f"{raw} is a directory")
        if not stat.S_ISREG(info.st_mode):
            raise BadRequest(f"{raw} is not a regular file (a pipe, socket or device)")
        f = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    try:
        kind: Sniffed | None = sniff_file(f, parts[-1])
    except BadRequest:  # an image too large to decode: still a file to download
        kind = None
    except BaseException:
        f.close()
        raise
    return OpenFile(f, _text(parts[-1]), info.st_size, kind)


# ── uploading ────────────────────────────────────────────────────────────────────────────
def upload_name(given: str) -> str:
    """The name to store an uploaded file under: the last part of what the client gave."""
    name = given.replace("\\", "/").rsplit("/", 1)[-1]
    if name in ("", ".", ".."):
        raise BadRequest("the file needs a name")
    if _UNSAFE_NAME.intersection(name):
        raise BadRequest("the file name contains control characters")
    if len(name.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
        raise BadRequest(f"the file name is longer than {MAX_NAME_BYTES} bytes")
    return name


def parse_overwrite(value: str | None) -> bool:
    if value in (None, "", "0", "false"):
        return False
    if value in ("1", "true"):
        return True
    raise BadRequest("overwrite must be 1 or 0")


class Upload:
    """One file being received into a workspace directory (see the module)."""

    def __init__(self, ws: Workspace, directory: str, given_name: str, overwrite: bool) -> None:
        self.name = upload_name(given_name)
        self.overwrite = overwrite
        self.size = 0
        raw_parts = relative_parts(directory)
        self.parts = ws.resolve(raw_parts)
        if any(is_git_name(part) for part in (*raw_parts, *self.parts, self.name)):
            raise Forbidden(
                "files under .git are read-only here: a repository's config and hooks run "
                "commands on the next git command"
            )
        ws.resolve((*self.parts, self.name))  # the target itself may be no protected path
        if not ws.exists:
            if not ws.is_default:
                raise NotFound("the conversation's workspace does not exist")
            ws.root.mkdir(parents=True, exist_ok=True)
        self._stack = contextlib.ExitStack()
        try:
            with opening(directory):
                try:
                    self.parent = self._stack.enter_context(confined.open_dir(ws.root, self.parts))
                except NotADirectoryError:
                    raise BadRequest(f"{directory} is not a directory") from None
            self._temp: str | None = f".{secrets.token_hex(8)}.upload.tmp"
            fd = os.open(
                self._temp,
                confined.NEW_FILE_FLAGS | os.O_NOFOLLOW | os.O_CLOEXEC,
                confined.NEW_FILE_MODE,
                dir_fd=self.parent,
            )
            self._file = os.fdopen(fd, "wb")
        except BaseException:
            self._stack.close()
            raise

    @property
    def path(self) -> str:
        return shown((*self.parts, self.name))

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > MAX_UPLOAD_BYTES:
            raise PayloadTooLarge(f"file too large (limit {MAX_UPLOAD_BYTES >> 20} MB a file)")
        self._file.write(chunk)

    def finish(self) -> dict[str, Any]:
        """Put the file in place; the reply describing it."""
        self._file.flush()
        mode = self._mode_to_keep() if self.overwrite else None
        if mode is not None:
            os.fchmod(self._file.fileno(), mode)
        os.fsync(self._file.fileno())
        self._file.close()
        overwritten = self._place()
        self._temp = None
        with contextlib.suppress(OSError):  # durability of the name; the data is synced
            os.fsync(self.parent)
        return {
            "path": _text(self.path),
            "name": _text(self.name),
            "size": self.size,
            "overwritten": overwritten,
        }

    def _place(self) -> bool:
        """Link the temp file to its name (or rename it over the name); whether a file was
        replaced."""
        assert self._temp is not None
        existing = self._existing()
        if existing is not None and stat.S_ISDIR(existing.st_mode):
            raise Conflict(f"{self.path} is a directory", reason="directory")
        if self.overwrite:
            os.replace(self._temp, self.name, src_dir_fd=self.parent, dst_dir_fd=self.parent)
            return existing is not None
        try:
            os.link(
                self._temp,
                self.name,
                src_dir_fd=self.parent,
                dst_dir_fd=self.parent,
                follow_symlinks=False,
            )
        except FileExistsError:
            raise self._exists() from None
        except OSError as exc:
            if exc.errno not in _NO_LINK:
                raise
            # A file system without hard links: checked, then renamed (a narrow race).
            if self._existing() is not None:
                raise self._exists() from None
            os.replace(self._temp, self.name, src_dir_fd=self.parent, dst_dir_fd=self.parent)
            return False
        os.unlink(self._temp, dir_fd=self.parent)
        return False

    def _exists(self) -> Conflict:
        return Conflict(
            f"{self.path} already exists; send overwrite=1 to replace it", reason="exists"
        )

    def _existing(self) -> os.stat_result | None:
        try:
            return os.stat(self.name, dir_fd=self.parent, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def _mode_to_keep(self) -> int | None:
        existing = self._existing()
        if existing is None or not stat.S_ISREG(existing.st_mode):
            return None
        return stat.S_IMODE(existing.st_mode) & 0o777

    def discard(self) -> None:
        """Remove the temp file unless it was put in place; always release the directory."""
        try:
            self._file.close()
            if self._temp is not None:
                try:
                    os.unlink(self._temp, dir_fd=self.parent)
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    log.warning("could not remove the upload's temp file %s: %s", self._temp, exc)
                self._temp = None
        finally:
            self._stack.close()
