"""Projects: named, coloured groups of sessions, stored in `<state dir>/projects.json`."""

from __future__ import annotations

import re
import threading
import time
import uuid
from typing import Any

from api import config
from api.storage import JSONDecodeError, atomic_write, dumps_file, loads
from api.validation import is_valid_session_id
from hermes_agent.errors import BadRequest, NotFound, StoreError

NAME_MAX = 80
DEFAULT_COLOR = "#7c6cf0"
_COLOR = re.compile(r"#[0-9a-fA-F]{3,8}")
_LOCK = threading.Lock()


def list_projects() -> list[dict[str, Any]]:
    with _LOCK:
        return _read()


def get_project(project_id: str) -> dict[str, Any]:
    for project in list_projects():
        if project["project_id"] == project_id:
            return project
    raise NotFound("Project not found")


def create_project(name: str, color: str | None = None) -> dict[str, Any]:
    project = {
        "project_id": uuid.uuid4().hex[:12],
        "name": _clean_name(name),
        "color": _clean_color(color) or DEFAULT_COLOR,
        "created_at": time.time(),
    }
    with _LOCK:
        projects = _read()
        projects.append(project)
        _write(projects)
    return project


def rename_project(project_id: str, name: str, color: str | None = None) -> dict[str, Any]:
    clean_name = _clean_name(name)
    clean_color = _clean_color(color)
    with _LOCK:
        projects = _read()
        project = _find(projects, project_id)
        project["name"] = clean_name
        if clean_color:
            project["color"] = clean_color
        _write(projects)
    return project


def delete_project(project_id: str) -> None:
    """Remove the project; its sessions stay, unassigned (the caller moves them)."""
    with _LOCK:
        projects = _read()
        _find(projects, project_id)
        _write([p for p in projects if p["project_id"] != project_id])


def _find(projects: list[dict[str, Any]], project_id: str) -> dict[str, Any]:
    for project in projects:
        if project["project_id"] == project_id:
            return project
    raise NotFound("Project not found")


def _clean_name(name: object) -> str:
    clean = " ".join(str(name or "").split())[:NAME_MAX]
    if not clean:
        raise BadRequest("Missing required field(s): name")
    return clean


def _clean_color(color: object) -> str | None:
    if color is None or color == "":
        return None
    if not isinstance(color, str) or not _COLOR.fullmatch(color):
        raise BadRequest("Invalid color format")
    return color


def _read() -> list[dict[str, Any]]:
    try:
        data = loads(config.PROJECTS_FILE.read_bytes())
    except FileNotFoundError:
        return []
    except JSONDecodeError as exc:
        raise StoreError(f"projects.json is not valid JSON: {exc}") from None
    if not isinstance(data, list):
        raise StoreError("projects.json does not hold a JSON array")
    return [p for p in data if isinstance(p, dict) and is_valid_session_id(p.get("project_id"))]


def _write(projects: list[dict[str, Any]]) -> None:
    config.PROJECTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(config.PROJECTS_FILE, dumps_file(projects))
