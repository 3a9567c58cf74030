"""File tools, confined to the session's workspace.

Every path is resolved (symlinks followed) before it is checked, so `../`, absolute paths and
links pointing out of the workspace are all refused the same way. Paths inside protected
directories (the Hermes home, with its settings and keys) are refused even when the workspace
contains them: the agent must not edit its own configuration.
"""

from __future__ import annotations

import fnmatch
import os
import re
from pathlib import Path
from typing import Any

from hermes_agent.errors import ToolError
from hermes_agent.tools.registry import Tool, ToolContext, register

MAX_READ_CHARS = 40_000
DEFAULT_READ_LINES = 2000
MAX_LIST_ENTRIES = 500
MAX_MATCHES = 200
MAX_SEARCH_FILE_BYTES = 2 * 1024 * 1024
SKIP_DIRS = frozenset({".git", "node_modules", ".venv", "__pycache__", ".mypy_cache"})


def resolve_in_workspace(ctx: ToolContext, raw: object) -> Path:
    """The absolute, symlink-free path `raw` names, if it lies inside the workspace."""
    if not isinstance(raw, str) or not raw.strip():
        raise ToolError("path must be a non-empty string")
    if "\x00" in raw:
        raise ToolError("path contains a NUL byte")
    root = ctx.workspace.resolve()
    candidate = Path(raw).expanduser()
    resolved = (candidate if candidate.is_absolute() else root / candidate).resolve()
    if not resolved.is_relative_to(root):
        raise ToolError(f"{raw} is outside the workspace ({root})")
    for protected in ctx.protected_paths:
        if resolved.is_relative_to(protected.resolve()):
            raise ToolError(f"{raw} is in a protected directory")
    return resolved


def _relative(ctx: ToolContext, path: Path) -> str:
    return str(path.relative_to(ctx.workspace.resolve())) or "."


def read_file(args: dict[str, Any], ctx: ToolContext) -> str:
    """Lines `offset`.. of a text file (1-based), so long files can be read in parts."""
    path = resolve_in_workspace(ctx, args.get("path"))
    if not path.is_file():
        raise ToolError(f"{args['path']} is not a file")
    offset = _positive_int(args.get("offset", 1), "offset")
    limit = _positive_int(args.get("limit", DEFAULT_READ_LINES), "limit")
    with open(path, "rb") as f:
        if b"\x00" in f.read(8192):
            raise ToolError(f"{args['path']} looks like a binary file")
    shown: list[str] = []
    size = 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, start=1):
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
    path = resolve_in_workspace(ctx, args.get("path"))
    content = args.get("content")
    if not isinstance(content, str):
        raise ToolError("content must be a string")
    if path.is_dir():
        raise ToolError(f"{args['path']} is a directory")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(content)
    return f"Wrote {len(content.encode())} bytes to {_relative(ctx, path)}"


def edit_file(args: dict[str, Any], ctx: ToolContext) -> str:
    path = resolve_in_workspace(ctx, args.get("path"))
    old, new = args.get("old_string"), args.get("new_string")
    if not isinstance(old, str) or not old or not isinstance(new, str):
        raise ToolError("old_string (non-empty) and new_string must be strings")
    if not path.is_file():
        raise ToolError(f"{args['path']} is not a file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ToolError(f"{args['path']} is not a UTF-8 text file") from None
    count = text.count(old)
    if count == 0:
        raise ToolError("old_string was not found in the file; copy it exactly")
    if count > 1 and not args.get("replace_all"):
        raise ToolError(
            f"old_string appears {count} times; add surrounding text or set replace_all"
        )
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text.replace(old, new))
    return f"Replaced {count} occurrence(s) in {_relative(ctx, path)}"


def list_dir(args: dict[str, Any], ctx: ToolContext) -> str:
    path = resolve_in_workspace(ctx, args.get("path") or ".")
    if not path.is_dir():
        raise ToolError(f"{args.get('path', '.')} is not a directory")
    entries = sorted(path.iterdir(), key=lambda p: (not p.is_dir(), p.name.lower()))
    lines = [e.name + ("/" if e.is_dir() else "") for e in entries[:MAX_LIST_ENTRIES]]
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
    root = resolve_in_workspace(ctx, args.get("path") or ".")
    name_glob = args.get("glob") or "*"
    matches: list[str] = []
    for path in _walk(root, ctx):
        if not fnmatch.fnmatch(path.name, name_glob):
            continue
        for number, line in _text_lines(path):
            if regex.search(line):
                matches.append(f"{_relative(ctx, path)}:{number}: {line.strip()[:200]}")
                if len(matches) >= MAX_MATCHES:
                    return "\n".join(matches) + f"\n… stopped at {MAX_MATCHES} matches"
    return "\n".join(matches) or "No matches."


def _walk(root: Path, ctx: ToolContext):
    """Files under `root`, never entering protected directories or following links."""
    if root.is_file():
        yield root
        return
    protected = [p.resolve() for p in ctx.protected_paths]
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(
            d
            for d in subdirs
            if d not in SKIP_DIRS
            and not any((Path(directory) / d).resolve().is_relative_to(p) for p in protected)
        )
        for name in sorted(files):
            path = Path(directory) / name
            if not path.is_symlink():
                yield path


def _text_lines(path: Path):
    try:
        if path.stat().st_size > MAX_SEARCH_FILE_BYTES:
            return
        data = path.read_bytes()
    except OSError:
        return
    if b"\x00" in data[:8192]:
        return
    yield from enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1)


def _schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required}


PATH = {"type": "string", "description": "Path relative to the workspace."}

register(
    Tool(
        "read_file",
        "Read a text file from the workspace, from line `offset` (1-based) for `limit` lines.",
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
)
register(
    Tool(
        "write_file",
        "Create or overwrite a file in the workspace.",
        _schema({"path": PATH, "content": {"type": "string"}}, ["path", "content"]),
        write_file,
    )
)
register(
    Tool(
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
)
register(
    Tool(
        "list_dir",
        "List a workspace directory (directories end with /).",
        _schema({"path": PATH}, []),
        list_dir,
    )
)
register(
    Tool(
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
)
