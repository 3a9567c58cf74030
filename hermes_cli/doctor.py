"""`hermes doctor`: what is wrong with this installation, and what to do about it.

Read-only: it opens state.db read-only and writes nothing, so it is safe to run while the
web server or a gateway is running, and on a home that is already in trouble. Exit status 1
when anything needs attention.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

LOW_DISK_BYTES = 200 * 1024 * 1024
MARKS = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}


@dataclass(frozen=True)
class Finding:
    level: str  # "ok", "warn" or "fail"
    what: str
    detail: str = ""


def add_parser(commands: argparse._SubParsersAction) -> None:
    doctor = commands.add_parser(
        "doctor",
        help="check the installation: home, settings, state.db, web sessions, disk",
        description="Check $HERMES_HOME without changing anything; exit 1 when something "
        "needs attention.",
    )
    doctor.set_defaults(run=_doctor)


def _doctor(_args: argparse.Namespace) -> int:
    from hermes_state.connection import get_hermes_home

    home = get_hermes_home()
    findings: list[Finding] = []
    for check in CHECKS:
        findings += check(home)
    for finding in findings:
        line = f"[{MARKS[finding.level]}] {finding.what}"
        print(line + (f"\n       {finding.detail}" if finding.detail else ""))
    return 1 if any(f.level != "ok" for f in findings) else 0


def _home(home: Path) -> list[Finding]:
    if not home.is_dir():
        return [Finding("ok", f"home {home} is not created yet (the first start creates it)")]
    if not os.access(home, os.W_OK | os.X_OK):
        return [Finding("fail", f"home {home} is not writable", "fix its owner or mode")]
    free = shutil.disk_usage(home).free
    if free < LOW_DISK_BYTES:
        return [
            Finding(
                "warn",
                f"only {free // 2**20} MB free where {home} is",
                "turns fail to be recorded once the disk is full",
            )
        ]
    return [Finding("ok", f"home {home}, {free // 2**30} GB free")]


def _settings(_home: Path) -> list[Finding]:
    from hermes_agent.errors import HermesError
    from hermes_agent.settings import config_path, load_settings

    try:
        settings = load_settings()
    except (HermesError, ValueError, OSError) as exc:
        return [Finding("fail", f"settings in {config_path()} cannot be read", str(exc))]
    return [Finding("ok", f"settings: provider {settings.provider}, model {settings.model}")]


def _state_db(_home: Path) -> list[Finding]:
    from hermes_state.connection import default_db_path
    from hermes_state.salvage import damaged_copies

    path = default_db_path()
    findings = [_integrity(path)]
    restored = _restored_labels(path)
    for copy in damaged_copies(path):
        if copy.name in restored:
            findings.append(Finding("ok", f"{copy.name} was recovered into state.db"))
        else:
            findings.append(
                Finding(
                    "warn",
                    f"a damaged copy, {copy.name}, was set aside and not yet recovered",
                    f"run: hermes state repair {copy}",
                )
            )
    return findings


def _integrity(path: Path) -> Finding:
    if not path.exists():
        return Finding("ok", "state.db is not created yet")
    try:
        with _read_only(path) as conn:
            verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
            sessions = conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        verdict, sessions = str(exc), 0
    if verdict != "ok":
        return Finding(
            "fail",
            f"state.db is damaged: {verdict}",
            "the next `hermes web` or `hermes gateway` sets it aside and starts a new one; "
            "`hermes state repair` does that now and recovers what can be read",
        )
    return Finding("ok", f"state.db is sound, {sessions} session(s)")


def _restored_labels(path: Path) -> set[str]:
    """Copies already recovered, from state_meta; none when state.db cannot be read."""
    from hermes_state.salvage import RESTORED_PREFIX

    if not path.exists():
        return set()
    try:
        with _read_only(path) as conn:
            rows = conn.execute(
                "SELECT key FROM state_meta WHERE key LIKE ?", (RESTORED_PREFIX + "%",)
            )
            return {key.removeprefix(RESTORED_PREFIX) for (key,) in rows}
    except sqlite3.DatabaseError:
        return set()


def _read_only(path: Path) -> contextlib.closing[sqlite3.Connection]:
    return contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True))


def _web_sessions(_home: Path) -> list[Finding]:
    from api.config import SESSION_DIR

    if not SESSION_DIR.is_dir():
        return [Finding("ok", "no web sessions yet")]
    files = [p for p in SESSION_DIR.glob("*.json") if not p.name.startswith("_")]
    unreadable = [p.name for p in files if not _is_json_object(p)]
    if unreadable:
        return [
            Finding(
                "warn",
                f"{len(unreadable)} of {len(files)} web session file(s) cannot be read",
                ", ".join(unreadable[:10]) + f" in {SESSION_DIR}",
            )
        ]
    return [Finding("ok", f"{len(files)} web session file(s), all readable")]


def _is_json_object(path: Path) -> bool:
    try:
        return isinstance(json.loads(path.read_bytes()), dict)
    except (OSError, ValueError):
        return False


CHECKS: tuple[Callable[[Path], list[Finding]], ...] = (_home, _settings, _state_db, _web_sessions)
