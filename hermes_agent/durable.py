"""Crash-safe file replacement, shared by every store that writes files.

A write either leaves the old file or the complete new one, never a torn mix: the bytes go to
a temp file unique to the writing process and thread, are flushed and fsynced, replace the
target with `os.replace`, and the directory is fsynced so the rename itself survives a power
cut. Files are created 0600: they hold private conversations and keys.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

TMP_MARKER = ".tmp."
STALE_TMP_SECONDS = 3600


def temp_path_for(path: Path) -> Path:
    """A temp name no other writer can share: concurrent saves never clobber each other."""
    return path.with_suffix(f".tmp.{os.getpid()}.{threading.get_ident()}")


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, *, mtime_ns: int | None = None) -> None:
    """Replace `path` with `data` durably; `mtime_ns` stamps the new file's mtime first."""
    tmp = temp_path_for(path)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if mtime_ns is not None:
            os.utime(tmp, ns=(mtime_ns, mtime_ns))
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("could not remove temp file %s: %s", tmp, exc)
        raise
    fsync_dir(path.parent)


def remove_stale_temp_files(directory: Path) -> int:
    """Delete temp files left by writers that died mid-write; return how many went."""
    removed = 0
    now = time.time()
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return 0
    for entry in entries:
        if TMP_MARKER not in entry.name or not entry.is_file():
            continue
        if _writer_alive(entry.name) and now - entry.stat().st_mtime < STALE_TMP_SECONDS:
            continue
        try:
            os.unlink(entry.path)
            removed += 1
        except FileNotFoundError:
            pass
    return removed


def _writer_alive(tmp_name: str) -> bool:
    """Whether the process named in `<stem>.tmp.<pid>.<tid>` still runs (so may still write)."""
    parts = tmp_name.rsplit(".", 2)
    try:
        pid = int(parts[-2])
    except (IndexError, ValueError):
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
