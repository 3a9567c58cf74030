"""Damaging a real state.db the way a failing disk or a stray write does: pages overwritten."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from hermes_state import SessionDB

PAGE = 4096


def record(path: Path, sessions: dict[str, int], *, title: str | None = None) -> None:
    """Sessions recorded by the terminal, each with `n` messages of about 1 KB."""
    with SessionDB(path) as db:
        for sid, n in sessions.items():
            db.create_session(sid, source="cli", model="m")
            for i in range(n):
                role = "user" if i % 2 == 0 else "assistant"
                db.append_message(sid, role, f"{sid} message {i:04d} " + "x" * 1000)
        if title:
            db.set_session_title(next(iter(sessions)), title)
    for suffix in ("-wal", "-shm"):
        assert not Path(f"{path}{suffix}").exists(), "closed cleanly, everything in the file"


def overwrite_page_holding(path: Path, table: str, needle: bytes) -> None:
    """Overwrite the leaf page of `table` that holds `needle` (the search index has a copy)."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        leaves = conn.execute(
            "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf'", (table,)
        ).fetchall()
    data = bytearray(path.read_bytes())
    (page,) = [n for (n,) in leaves if needle in data[(n - 1) * PAGE : n * PAGE]]
    data[(page - 1) * PAGE : page * PAGE] = b"\xa5" * PAGE
    path.write_bytes(bytes(data))


def overwrite_root_page(path: Path, table: str) -> None:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        query = "SELECT rootpage FROM sqlite_master WHERE name = ?"
        (page,) = conn.execute(query, (table,)).fetchone()
    data = bytearray(path.read_bytes())
    data[(page - 1) * PAGE : page * PAGE] = b"\x5a" * PAGE
    path.write_bytes(bytes(data))
