"""Paths, server settings and the web server's shared state.

Everything here is read from the environment once, at import. Importing this module touches
no file: directories are created when the server starts (`api.app`).

The shared state and its locks follow one ordering, outermost first:
    a session's edit lock (`_get_session_agent_lock`)  →  LOCK  →  STREAMS_LOCK or the
    index's own lock
`LOCK` is a plain, non-reentrant lock that guards `SESSIONS` only; it is never held across
disk I/O, so a slow disk can never stall every request. All of them but `STREAMS_LOCK` are
parts of `CACHE` (`api.session_cache`).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from api.session_cache import SessionCache
from hermes_agent.settings import DEFAULT_WORKSPACE as AGENT_DEFAULT_WORKSPACE

if TYPE_CHECKING:
    from api.models import Session
    from api.runs import Run


def _path_from_env(name: str, default: Path) -> Path:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser().resolve() if value else default.expanduser().resolve()


def _port_from_env(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        port = int(value)
    except ValueError:
        raise SystemExit(f"{name} must be a port number, got {value!r}") from None
    if not 0 < port < 65536:
        raise SystemExit(f"{name} must be between 1 and 65535, got {port}")
    return port


HERMES_HOME = _path_from_env("HERMES_HOME", Path("~/.hermes"))
STATE_DIR = _path_from_env("HERMES_WEBUI_STATE_DIR", HERMES_HOME / "webui")
SESSION_DIR = STATE_DIR / "sessions"
SESSION_INDEX_FILE = SESSION_DIR / "_index.json"
PROJECTS_FILE = STATE_DIR / "projects.json"
HERMES_WEBUI_DEFAULT_WORKSPACE = _path_from_env(
    "HERMES_WEBUI_DEFAULT_WORKSPACE", AGENT_DEFAULT_WORKSPACE
)
# The default before it moved out of the protected Hermes home; sessions that still name it
# are given the new default (`api.workspaces.current_workspace`).
LEGACY_DEFAULT_WORKSPACE = STATE_DIR / "workspace"
HERMES_WEBUI_DEFAULT_MODEL = os.environ.get("HERMES_WEBUI_DEFAULT_MODEL", "").strip()
# Short aliases used throughout the web server.
DEFAULT_WORKSPACE = HERMES_WEBUI_DEFAULT_WORKSPACE
DEFAULT_MODEL = HERMES_WEBUI_DEFAULT_MODEL

HOST = os.environ.get("HERMES_WEBUI_HOST", "").strip() or "127.0.0.1"
PORT = _port_from_env("HERMES_WEBUI_PORT", 8787)

# Request limits (see DESIGN.md, Security defaults).
MAX_BODY_BYTES = 20 * 1024 * 1024
MAX_IMPORT_MESSAGES = 20_000
MAX_JSON_DEPTH = 64
ALLOWED_ORIGINS = frozenset(
    o.strip().rstrip("/")
    for o in os.environ.get("HERMES_WEBUI_ALLOWED_ORIGINS", "").split(",")
    if o.strip()
)

SERVER_START_TIME = time.time()

# ── shared state ─────────────────────────────────────────────────────────────────────────
SESSIONS_MAX = 100

# stream_id → its `api.runs.Run`; filled by the streaming layer.
STREAMS: dict[str, Run] = {}
STREAMS_LOCK = threading.Lock()


def _has_live_run(session: Session) -> bool:
    return bool(session.active_stream_id) and session.active_stream_id in STREAMS


# The sessions in memory and their edit locks, under the names the server has always used.
CACHE = SessionCache(SESSIONS_MAX, _has_live_run)
LOCK = CACHE.lock
SESSIONS = CACHE.sessions
SESSION_AGENT_LOCKS = CACHE.edit_locks
SESSION_AGENT_LOCKS_LOCK = CACHE.edit_locks_lock
_get_session_agent_lock = CACHE.edit_lock
