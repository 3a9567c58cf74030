"""Request bodies of the HTTP API, so validation and `/openapi.json` come from one source.

Unknown fields are ignored rather than refused: clients of the original web UI send extras.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.config import MAX_JSON_DEPTH
from api.validation import check_json_value


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        check_json_value(data, MAX_JSON_DEPTH)
        return data


class SessionRef(Body):
    session_id: str = Field(description="Session id: lowercase letters, digits and `_`.")


class NewSession(Body):
    workspace: str | None = Field(None, description="Directory for the agent's file tools.")
    model: str | None = Field(None, max_length=200)
    profile: str | None = Field(None, max_length=64)


class Rename(SessionRef):
    title: str


class Pin(SessionRef):
    pinned: bool = True


class Archive(SessionRef):
    archived: bool = True


class Move(SessionRef):
    project_id: str | None = Field(None, description="Target project, or null to unassign.")


class Truncate(SessionRef):
    keep_count: int = Field(description="How many leading messages to keep.")


class ImportSession(Body):
    """A transcript to store as a new session; any `session_id` given is ignored."""

    title: str | None = Field(None, max_length=1000)
    messages: list[dict[str, Any]]
    model: str | None = Field(None, max_length=200)
    workspace: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    pinned: bool = False


class ProjectCreate(Body):
    name: str
    color: str | None = None


class ProjectRename(Body):
    project_id: str
    name: str
    color: str | None = None


class ProjectRef(Body):
    project_id: str


class ChatStart(SessionRef):
    message: str = Field(max_length=200_000)
    model: str | None = Field(None, max_length=200)
    workspace: str | None = None
    attachments: list[dict[str, Any] | str] | None = Field(None, max_length=20)


class StreamRef(Body):
    stream_id: str


class ApprovalAnswer(SessionRef):
    choice: str = Field(description="once, session, always or deny")
    approval_id: str | None = None


class SettingsUpdate(Body):
    """Only the fields sent are changed; an empty string clears a text setting."""

    provider: Literal["openai", "anthropic", "local"] | None = None
    base_url: str | None = Field(None, max_length=500)
    model: str | None = Field(None, max_length=200)
    api_key: str | None = Field(None, max_length=500, description="Write-only.")
    model_path: str | None = Field(None, max_length=1000)
    context_length: int | None = Field(None, ge=512, le=10_000_000)
    llm_titles: bool | None = None


class SideQuestion(SessionRef):
    question: str = Field(max_length=200_000)


class BackgroundTask(SessionRef):
    prompt: str = Field(max_length=200_000)


class Login(Body):
    password: str = Field(max_length=1000)
