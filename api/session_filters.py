"""Narrowing the sidebar list and its search: by archived state and by project.

The default keeps every session, archived ones included, as the Hermes web UI's clients
expect; the browser UI asks for `archived=0` unless "Show archived" is on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from api import projects
from api.validation import is_valid_session_id
from hermes_agent.errors import BadRequest

ArchivedMode = Literal["0", "1", "only"]


@dataclass(frozen=True)
class SessionFilter:
    """`archived`: "1" keeps archived sessions, "0" leaves them out, "only" keeps only them."""

    archived: ArchivedMode = "1"
    project_id: str | None = None

    def keeps(self, row: dict[str, Any]) -> bool:
        archived = bool(row.get("archived"))
        if self.archived == "0" and archived:
            return False
        if self.archived == "only" and not archived:
            return False
        return self.project_id is None or row.get("project_id") == self.project_id

    @property
    def includes_unfiled_active(self) -> bool:
        """Whether sessions in no project and not archived pass (those of other surfaces)."""
        return self.archived != "only" and self.project_id is None

    def apply(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if self.archived == "1" and self.project_id is None:
            return rows
        return [row for row in rows if self.keeps(row)]


def session_filter(archived: ArchivedMode = "1", project_id: str | None = None) -> SessionFilter:
    """A filter from query parameters; an unknown project is a 404, not an empty list."""
    if project_id is not None:
        if not is_valid_session_id(project_id):
            raise BadRequest("Invalid project_id")
        projects.get_project(project_id)
    return SessionFilter(archived, project_id)
