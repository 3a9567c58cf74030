"""File tools, confined to the session's workspace.

Every path is resolved (symlinks followed) before it is checked, so `../`, absolute paths and
links pointing out of the workspace are all refused the same way. Paths inside protected
directories (the Hermes home, with its settings and keys) are refused even when the workspace
contains them: the agent must not edit its own configuration.

The checked path is then used without following any link (`confined`): if a part of it is
swapped for a link after the check, the tool fails instead of reading or writing outside.
Writes replace files atomically. Writing into a repository's `.git` needs the user's approval,
because repository metadata runs commands (hooks, `core.fsmonitor`) on the next git command.
"""

from __future__ import annotations

import contextlib
import fnmatch
import io
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from hermes_agent.errors import ToolError
from hermes_agent.tools import confined
from hermes_agent.tools.attachment_files import (
    attachment_text,
    is_attachment_path,
    save_attachment_args,
)
from hermes_agent.tools.registry import Tool, ToolContext

MAX_READ_CHARS = 40_000
DEFAULT_READ_LINES = 2000
MAX_LIST_ENTRIES = 500
MAX_MATCHES = 200
MAX_SEARCH_FILE_BYTES = 2 * 1024 * 1024
SKIP_DIRS = frozenset({".git", "node_modules", ".venv", "__pycache__", ".mypy_cache"})
GIT_WRITE_REASON = "it writes inside .git, where repository config and hooks can run commands"
# Characters HFS+ ignores in names, so that ".g\u200cit" is ".git" there.
_IGNORED_IN_NAMES = dict.fromkeys(
    map(
        ord,
        "\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u206a\u206b"
        "\u206c\u206d\u206e\u206f\ufeff",
    )
)


class OutsideWorkspace(ToolError):
    """The path resolves (through `..` or a link) to somewhere outside the workspace."""

    status = 403


class ProtectedPath(ToolError):
    """The path resolves into a protected directory (the Hermes home, the web state)."""

    status = 403


def resolve_in_workspace(ctx: ToolContext, raw: object) -> Path:
    """The absolute, symlink-free path `raw` names, if it lies inside the workspace."""
    return resolve_path(ctx.workspace.resolve(), ctx.protected_paths, raw)


def resolve_path(root: Path, protected_paths: Iterable[Path], raw: object) -> Path:
    """`resolve_in_workspace` for the resolved workspace `root`; every surface that reaches a
    workspace's files (the web UI's file routes too) checks paths with this one function."""
    if not isinstance(raw, str) or not raw.strip():
        raise ToolError("path must be a non-empty string")
    if "\x00" in raw:
        raise ToolError("path contains a NUL byte")
    candidate = Path(raw).expanduser()
    try:
        resolved = (candidate if candidate.is_absolute() else root / candidate).resolve()
    except RuntimeError:  # pathlib's report of a symlink loop
        raise ToolError(f"{raw} is a loop of symbolic links") from None
    except OSError as exc:  # e.g. a link changed while it was being resolved
        reason = exc.strerror or exc
        raise ToolError(f"{raw} could not be resolved ({reason}); it may be changing") from None
    if not resolved.is_relative_to(root):
        raise OutsideWorkspace(f"{raw} is outside the workspace ({root})")
    for protected in protected_paths:
        if resolved.is_relative_to(protected.resolve()):
            raise ProtectedPath(f"{raw} is in a protected directory")
    return resolved


def _locate(ctx: ToolContext, raw: object) -> tuple[Path, tuple[str, ...]]:
    """The workspace root and the components of the checked path below it."""
    path = resolve_in_workspace(ctx, raw)
    root = ctx.workspace.resolve()
    return root, path.relative_to(root).parts


def _locate_file(ctx: ToolContext, raw: object) -> tuple[Path, tuple[str, ...]]:
    root, parts = _locate(ctx, raw)
    if not parts:
        raise ToolError(f"{raw} is the workspace directory, not a file")
    return root, parts


def _shown(parts: tuple[str, ...]) -> str:
    return "/".join(parts) or "."


@contextlib.contextmanager
def _opening(raw: str, expected: str) -> Iterator[None]:
    """Failures to open the checked path `raw`, as results the model can act on."""
    try:
        yield
    except confined.LinkRefused:
        raise ToolError(
            f"{raw} changed while it was being opened: part of it is now a symbolic link, "
            "which is not followed"
        ) from None
    except IsADirectoryError:
        raise ToolError(f"{raw} is a directory") from None
    except (FileNotFoundError, NotADirectoryError, confined.NotAFile):
        raise ToolError(f"{raw} is not {expected}") from None


def read_file(args: dict[str, Any], ctx: ToolContext) -> str:
    """Lines `offset`.. of a text file (1-based), so long files can be read in parts; an
    `attachment:<id>` path reads an attached file from the store, which stays outside."""
    offset = _positive_int(args.get("offset", 1), "offset")
    limit = _positive_int(args.get("limit", DEFAULT_READ_LINES), "limit")
    if is_attachment_path(args.get("path")):
        return _lines(attachment_text(args["path"]), offset, limit)
    root, parts = _locate_file(ctx, args.get("path"))
    with _opening(args["path"], "a file"), confined.open_file(root, parts) as f:
        if b"\x00" in f.read(8192):
            raise ToolError(f"{args['path']} looks like a binary file")
        f.seek(0)
        return _lines(f, offset, limit)


def _lines(f: BinaryIO, offset: int, limit: int) -> str:
    shown: list[str] = []
    size = 0
    text = io.TextIOWrapper(f, encoding="utf-8", errors="replace")
    for number, line in enumerate(text, start=1):
        if number < offset:
            continue
        if len(shown) >= limit or size + len(line) > MAX_READ_CHARS:
            shown.append(f"\n… [file continues: read again with offset={number}]")
            break
        shown.append(line)
        size += len(line)
    return "".join(shown)


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ToolError(f"{name} must be a positive integer")
    return value


def write_file(args: dict[str, Any], ctx: ToolContext) -> str:
    root, parts = _locate_file(ctx, args.get("path"))
    content = args.get("content")
    if not isinstance(content, str | bytes):
        raise ToolError("content must be a string")
    data = content.encode() if isinstance(content, str) else content
    _authorise_write(ctx, parts)
    with (
        _opening(args["path"], "in a directory (part of its path is a file)"),
        confined.open_dir(root, parts[:-1], create=True) as parent,
    ):
        confined.replace_file(parent, parts[-1], data)
    return f"Wrote {len(data)} bytes to {_shown(parts)}"


def save_attachment(args: dict[str, Any], ctx: ToolContext) -> str:
    """Copy an attached file into the workspace (at `path`, or under its own name)."""
    path, data = save_attachment_args(args)
    return write_file({"path": path, "content": data}, ctx)


def edit_file(args: dict[str, Any], ctx: ToolContext) -> str:
    root, parts = _locate_file(ctx, args.get("path"))
    old, new = args.get("old_string"), args.get("new_string")
    if not isinstance(old, str) or not old or not isinstance(new, str):
        raise ToolError("old_string (non-empty) and new_string must be strings")
    with (
        _opening(args["path"], "a file"),
        confined.open_dir(root, parts[:-1]) as parent,
    ):
        text = _read_text(parent, parts[-1], args["path"])
        count = text.count(old)
        if count == 0:
            raise ToolError("old_string was not found in the file; copy it exactly")
        if count > 1 and not args.get("replace_all"):
            raise ToolError(
                f"old_string appears {count} times; add surrounding text or set replace_all"
            )
        _authorise_write(ctx, parts)
        confined.replace_file(parent, parts[-1], text.replace(old, new).encode())
    return f"Replaced {count} occurrence(s) in {_shown(parts)}"


def _read_text(parent: int, name: str, raw: str) -> str:
    """The file's text with newlines made \\n, as `read_file` shows it to the model."""
    with confined.open_file_at(parent, name) as f:
        try:
            return io.TextIOWrapper(f, encoding="utf-8").read()
        except UnicodeDecodeError:
            raise ToolError(f"{raw} is not a UTF-8 text file") from None


def _authorise_write(ctx: ToolContext, parts: tuple[str, ...]) -> None:
    """Repository metadata is code: a hook, or `core.fsmonitor` in .git/config, runs on the
    next git command, even the auto-approved `git status`. So writing inside a `.git` (or a
    `.git` file, which points git at another directory) is approved like a command."""
    if not any(is_git_name(part) for part in parts):
        return
    if ctx.approval.mode == "off":
        return
    if ctx.approval.mode == "allowlist":
        raise ToolError(
            "writing inside .git needs the user's approval, and the allowlist mode never asks"
        )
    shown = _shown(parts)
    ctx.require_approval(f"write {shown}", GIT_WRITE_REASON, subject=f"writing {shown}")


def is_git_name(name: str) -> bool:
    """Whether a file system may take `name` for `.git`: case-insensitive ones do in any case."""
    return name.translate(_IGNORED_IN_NAMES).casefold() == ".git"


def list_dir(args: dict[str, Any], ctx: ToolContext) -> str:
    raw = args.get("path") or "."
    root, parts = _locate(ctx, raw)
    with (
        _opening(raw, "a directory"),
        confined.open_dir(root, parts) as fd,
        os.scandir(fd) as scan,
    ):
        entries = sorted(
            (not e.is_dir(follow_symlinks=False), e.name.lower(), e.name) for e in scan
        )
    lines = [name + ("" if not_dir else "/") for not_dir, _, name in entries[:MAX_LIST_ENTRIES]]
    if len(entries) > MAX_LIST_ENTRIES:
        lines.append(f"… and {len(entries) - MAX_LIST_ENTRIES} more")
    return "\n".join(lines) or "(empty directory)"


def search_files(args: dict[str, Any], ctx: ToolContext) -> str:
    pattern = args.get("pattern")
    if not isinstance(pattern, str) or not pattern:
        raise ToolError("pattern must be a non-empty string")
    try:
        regex = re.compile(pattern if args.get("regex") else re.escape(pattern), re.IGNORECASE)
    except re.error as exc:
        raise ToolError(f"invalid regular expression: {exc}") from None
    raw = args.get("path") or "."
    start = _locate(ctx, raw)
    name_glob = args.get("glob") or "*"
    matches: list[str] = []
    with _opening(raw, "a file or directory"), contextlib.closing(_files(ctx, *start)) as files:
        for shown, parent, name in files:
            if not fnmatch.fnmatch(name, name_glob):
                continue
            for number, line in _text_lines(parent, name):
                if regex.search(line):
                    matches.append(f"{shown}:{number}: {line.strip()[:200]}")
                    if len(matches) >= MAX_MATCHES:
                        return "\n".join(matches) + f"\n… stopped at {MAX_MATCHES} matches"
    return "\n".join(matches) or "No matches."


def _files(ctx: ToolContext, root: Path, parts: tuple[str, ...]) -> Iterator[tuple[str, int, str]]:
    """(shown path, directory descriptor, name) of each regular file at or under root/parts,
    never following a link nor entering a skipped or protected directory."""
    protected = [p.resolve() for p in ctx.protected_paths]

    def prune(below: tuple[str, ...]) -> bool:
        path = root.joinpath(*parts, *below)
        return below[-1] in SKIP_DIRS or any(path.is_relative_to(p) for p in protected)

    with contextlib.ExitStack() as stack:
        try:
            top = stack.enter_context(confined.open_dir(root, parts))
        except NotADirectoryError:
            parent = stack.enter_context(confined.open_dir(root, parts[:-1]))
            yield _shown(parts), parent, parts[-1]
            return
        for below, fd, names in stack.enter_context(contextlib.closing(confined.walk(top, prune))):
            for name in names:
                yield _shown((*parts, *below, name)), fd, name


def _text_lines(parent: int, name: str) -> Iterator[tuple[int, str]]:
    try:
        with confined.open_file_at(parent, name) as f:
            data = f.read(MAX_SEARCH_FILE_BYTES + 1)
    except OSError:
        return
    if len(data) > MAX_SEARCH_FILE_BYTES or b"\x00" in data[:8192]:
        return
    yield from enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1)


def _schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required}


PATH = {"type": "string", "description": "Path relative to the workspace."}

READ_FILE = Tool(
    "read_file",
    "Read a text file from the workspace, from line `offset` (1-based) for `limit` lines; "
    "an attached text file by its attachment:<id> reference.",
    _schema(
        {
            "path": PATH,
            "offset": {"type": "integer", "minimum": 1},
            "limit": {"type": "integer", "minimum": 1},
        },
        ["path"],
    ),
    read_file,
)
WRITE_FILE = Tool(
    "write_file",
    "Create or overwrite a file in the workspace.",
    _schema({"path": PATH, "content": {"type": "string"}}, ["path", "content"]),
    write_file,
)
EDIT_FILE = Tool(
    "edit_file",
    "Replace exact text in a workspace file. old_string must match exactly once unless "
    "replace_all is true.",
    _schema(
        {
            "path": PATH,
            "old_string": {"type": "string"},
            "new_string": {"type": "string"},
            "replace_all": {"type": "boolean"},
        },
        ["path", "old_string", "new_string"],
    ),
    edit_file,
)
LIST_DIR = Tool(
    "list_dir",
    "List a workspace directory (directories end with /).",
    _schema({"path": PATH}, []),
    list_dir,
)
SEARCH_FILES = Tool(
    "search_files",
    "Search workspace files for text (or a regular expression with regex=true); "
    "returns path:line: text.",
    _schema(
        {
            "pattern": {"type": "string"},
            "path": PATH,
            "glob": {"type": "string", "description": "File name pattern, e.g. *.py"},
            "regex": {"type": "boolean"},
        },
        ["pattern"],
    ),
    search_files,
)

# The `hermes_station.tools` entry point `files` (see pyproject.toml).
SAVE_ATTACHMENT = Tool(
    "save_attachment",
    "Save a file attached to a message (its attachment:<id> reference) into the workspace, "
    "at `path` or under its own name. Only when the user wants it there.",
    _schema(
        {
            "attachment": {"type": "string", "description": "attachment:<id> from the message"},
            "path": PATH,
        },
        ["attachment"],
    ),
    save_attachment,
)
TOOLS = (READ_FILE, WRITE_FILE, EDIT_FILE, LIST_DIR, SEARCH_FILES, SAVE_ATTACHMENT)
