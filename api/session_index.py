"""The sidebar index: one compact row per saved session, kept in memory and mirrored on disk.

The rows in memory are the truth while the server runs. `_index.json` is their mirror, so a
restart does not have to parse every session file:

* A save replaces one row in memory (O(1)) and never reads another session file.
* The file is rewritten by a background writer, coalescing bursts of saves, except when it
  does not exist yet: then the saving thread creates it, so a store with sessions always has
  an index file.
* A crash can lose the last rewrite, never a session: the file's mtime is stamped with a
  watermark taken before its rows were snapshotted (minus any save still in flight and a
  margin for the file system's coarse clock). At load, every session file modified at or
  after the watermark is re-read, and rows whose file is gone are dropped.
* A missing or unparseable file is rebuilt by reading every session file once.

Rows are never mutated in place; `put` swaps in a new dict, so readers may share them.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from api.storage import (
    JSONDecodeError,
    atomic_write,
    dumps_file,
    loads,
    remove_stale_temp_files,
)
from api.validation import is_valid_session_id

log = logging.getLogger(__name__)

FLUSH_INTERVAL_SECONDS = 0.25
CLOCK_MARGIN_NS = 1_000_000_000

Row = dict
RowLoader = Callable[[Path], "Row | None"]


class SessionIndex:
    """The rows of one session directory and the writer of its `_index.json`."""

    def __init__(self, session_dir: Path, index_file: Path, load_row: RowLoader) -> None:
        self.session_dir = session_dir
        self.index_file = index_file
        self._load_row = load_row
        self._rows: dict[str, Row] | None = None
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._dirty = False
        self._inflight: dict[int, int] = {}
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._writer: threading.Thread | None = None

    # ── reading ──────────────────────────────────────────────────────────────────────────
    def rows(self) -> list[Row]:
        """Every row, in no particular order. Never touches the disk once loaded."""
        self._ensure_loaded()
        with self._lock:
            return list(self._rows.values())

    def get(self, session_id: str) -> Row | None:
        self._ensure_loaded()
        with self._lock:
            return self._rows.get(session_id)

    # ── writing ──────────────────────────────────────────────────────────────────────────
    @contextlib.contextmanager
    def saving(self) -> Iterator[None]:
        """Bracket a session file write, so no index snapshot taken meanwhile can hide it."""
        token = object()
        with self._lock:
            self._inflight[id(token)] = time.time_ns()
        try:
            yield
        finally:
            with self._lock:
                del self._inflight[id(token)]

    def put(self, row: Row) -> None:
        self._ensure_loaded()
        with self._lock:
            self._rows[row["session_id"]] = row
            self._dirty = True
        self._schedule_flush()

    def refresh(self, row: Row) -> None:
        """Update a row in memory without asking for a write (checkpoints).

        The file catches up with the next write made for another reason; until then, a
        crash is covered by the session file's mtime being newer than the index's.
        """
        with self._lock:
            if self._rows is not None:
                self._rows[row["session_id"]] = row

    def remove(self, session_id: str) -> None:
        self._ensure_loaded()
        with self._lock:
            if self._rows.pop(session_id, None) is None:
                return
            self._dirty = True
        self._schedule_flush()

    def flush(self) -> None:
        """Write the file now if any row changed since the last write."""
        with self._write_lock:
            with self._lock:
                if not self._dirty or self._rows is None:
                    return
                self._dirty = False
                watermark = min([time.time_ns(), *self._inflight.values()]) - CLOCK_MARGIN_NS
                snapshot = list(self._rows.values())
            snapshot.sort(key=lambda r: r.get("updated_at") or 0, reverse=True)
            try:
                atomic_write(self.index_file, dumps_file(snapshot), mtime_ns=max(watermark, 0))
            except BaseException:
                with self._lock:
                    self._dirty = True
                raise

    def close(self) -> None:
        """Stop the writer and write what is pending."""
        self._closed.set()
        self._wake.set()
        if self._writer is not None and self._writer is not threading.current_thread():
            self._writer.join(timeout=5)
        try:
            self.flush()
        except OSError as exc:
            log.warning("could not write session index %s: %s", self.index_file, exc)

    def _schedule_flush(self) -> None:
        if not self.index_file.exists():
            self.flush()
            return
        if self._writer is None:
            with self._lock:
                if self._writer is None and not self._closed.is_set():
                    self._writer = threading.Thread(
                        target=self._write_loop, name="session-index-writer", daemon=True
                    )
                    self._writer.start()
        self._wake.set()

    def _write_loop(self) -> None:
        while not self._closed.is_set():
            self._wake.wait()
            self._wake.clear()
            if self._closed.is_set():
                return
            try:
                self.flush()
            except Exception:
                # The rows stay dirty and the next change retries; the writer must not die.
                log.exception("could not write session index %s", self.index_file)
            self._closed.wait(FLUSH_INTERVAL_SECONDS)

    # ── loading ──────────────────────────────────────────────────────────────────────────
    def _ensure_loaded(self) -> None:
        if self._rows is not None:
            return
        with self._write_lock:
            if self._rows is not None:
                return
            remove_stale_temp_files(self.session_dir)
            rows, changed = self._load_from_file()
            with self._lock:
                self._rows = rows
                self._dirty = changed
        if changed:
            self.flush()

    def _load_from_file(self) -> tuple[dict[str, Row], bool]:
        """Rows from the file, reconciled with the session files; rebuilt when unusable."""
        try:
            watermark = self.index_file.stat().st_mtime_ns
            rows = _parse_rows(self.index_file.read_bytes())
        except FileNotFoundError:
            return self._rebuild(), True
        except (OSError, ValueError) as exc:
            log.warning("session index %s is unreadable (%s); rebuilding it", self.index_file, exc)
            return self._rebuild(), True
        return rows, self._reconcile(rows, watermark)

    def _reconcile(self, rows: dict[str, Row], watermark_ns: int) -> bool:
        changed = False
        on_disk = set()
        for entry in _session_files(self.session_dir):
            sid = entry.name[: -len(".json")]
            on_disk.add(sid)
            row = rows.get(sid)
            current = row is not None and "last_message_at" in row
            if current and entry.stat().st_mtime_ns < watermark_ns:
                continue
            fresh = self._load_row(Path(entry.path))
            if fresh is None:
                changed |= rows.pop(sid, None) is not None
            elif fresh != row:
                rows[sid] = fresh
                changed = True
        for sid in set(rows) - on_disk:
            del rows[sid]
            changed = True
        return changed

    def _rebuild(self) -> dict[str, Row]:
        rows = {}
        for entry in _session_files(self.session_dir):
            row = self._load_row(Path(entry.path))
            if row is not None:
                rows[row["session_id"]] = row
        return rows


def _parse_rows(data: bytes) -> dict[str, Row]:
    try:
        parsed = loads(data)
    except JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(parsed, list):
        raise ValueError("not a JSON array")
    rows = {}
    for row in parsed:
        sid = row.get("session_id") if isinstance(row, dict) else None
        if not isinstance(sid, str) or not is_valid_session_id(sid):
            raise ValueError("a row has no valid session_id")
        rows[sid] = row
    return rows


def _session_files(session_dir: Path) -> Iterator[os.DirEntry]:
    try:
        entries = list(os.scandir(session_dir))
    except FileNotFoundError:
        return
    for entry in entries:
        name = entry.name
        is_session = name.endswith(".json") and not name.startswith("_")
        if is_session and is_valid_session_id(name[: -len(".json")]) and entry.is_file():
            yield entry


# ── the index of the current session directory ──────────────────────────────────────────
_CURRENT: SessionIndex | None = None
_CURRENT_LOCK = threading.Lock()


def index_for(session_dir: Path, index_file: Path, load_row: RowLoader) -> SessionIndex:
    """The index of `index_file`, replacing (and flushing) the previous one if it moved."""
    global _CURRENT
    with _CURRENT_LOCK:
        current = _CURRENT
        if current is not None and current.index_file == index_file:
            return current
        fresh = _CURRENT = SessionIndex(session_dir, index_file, load_row)
    if current is not None:
        current.close()
    return fresh


def close_current() -> None:
    """Flush the index before the process exits (registered with `atexit`)."""
    global _CURRENT
    with _CURRENT_LOCK:
        current, _CURRENT = _CURRENT, None
    if current is not None:
        current.close()


atexit.register(close_current)
