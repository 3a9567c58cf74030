"""Request bodies of the HTTP API, so validation and `/openapi.json` come from one source.

Unknown fields are ignored rather than refused: clients of the original web UI send extras.
Some rules are checked by the handlers, which answer with the messages those clients know
(`Invalid session_id`, `message is required`); the schema states them through
`json_schema_extra`, which documents a rule without making pydantic enforce it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, model_validator

from api.config import MAX_JSON_DEPTH
from api.validation import SESSION_ID_PATTERN, check_json_value
from hermes_agent.approval_queue import CHOICES

# The characters `str.strip()` removes, spelled out so every regex engine reads them alike.
PY_WHITESPACE = r"\t-\r\x1c- \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_BLANK = {"pattern": f"[^{PY_WHITESPACE}]"}
COLOR = {"pattern": r"^(#[0-9a-fA-F]{3,8})?$"}
MESSAGE_ROLES = ("user", "assistant", "system", "tool")
IMPORTED_MESSAGE = {
    "type": "object",
    "properties": {
        "role": {"enum": list(MESSAGE_ROLES)},
        "content": {"anyOf": [{"type": "string"}, {"type": "array"}, {"type": "null"}]},
    },
    "required": ["role"],
}


def _number_not_text(value: Any) -> Any:
    if isinstance(value, str | bool):
        raise ValueError("Input should be a valid integer")
    return value


# JSON's integer: 385 and 385.0 alike (JSON Schema counts both), never "385" or true.
WholeNumber = Annotated[int, Strict(False), BeforeValidator(_number_not_text)]


class Body(BaseModel):
    # Strict: a value of another JSON type is refused, not coerced ("no" or 0 for a boolean,
    # "5" for a number), so a body the schema calls invalid never passes as something else.
    model_config = ConfigDict(extra="ignore", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        check_json_value(data, MAX_JSON_DEPTH)
        return data


class SessionRef(Body):
    session_id: str = Field(
        description="Session id: lowercase letters, digits and `_` (not first).",
        json_schema_extra={"pattern": SESSION_ID_PATTERN},
    )


class NewSession(Body):
    workspace: str | None = Field(None, description="Directory for the agent's file tools.")
    model: str | None = Field(None, max_length=200)
    profile: str | None = Field(None, max_length=64)
    project_id: str | None = Field(
        None, description="The project it belongs to from the start.", pattern=SESSION_ID_PATTERN
    )


class SessionUpdate(SessionRef):
    workspace: str | None = Field(
        None, description="Directory for the agent's file tools; omitted or blank: unchanged."
    )
    model: str | None = Field(
        None, max_length=200, description='Model of the next turns; "" means the default.'
    )


class Rename(SessionRef):
    title: str = Field(json_schema_extra=NOT_BLANK)


class Pin(SessionRef):
    pinned: bool = True


class Archive(SessionRef):
    archived: bool = True


class Move(SessionRef):
    project_id: str | None = Field(None, description="Target project, or null to unassign.")


class Truncate(SessionRef):
    keep_count: WholeNumber = Field(
        description="How many leading messages to keep.", json_schema_extra={"minimum": 0}
    )


class Branch(SessionRef):
    keep_count: WholeNumber = Field(
        ge=1, description="How many leading messages the new conversation starts with."
    )


class ImportedToolCall(BaseModel):
    """A tool call's summary, anchored to the assistant message that made it."""

    model_config = ConfigDict(extra="allow", strict=True)

    assistant_msg_idx: WholeNumber = Field(ge=0)
    name: str | None = None
    tid: str | None = None
    snippet: str | None = None
    args: dict[str, Any] | None = None


class ImportSession(Body):
    """A transcript to store as a new session; any `session_id` given is ignored."""

    title: str | None = Field(None, max_length=1000)
    messages: list[dict[str, Any]] = Field(json_schema_extra={"items": IMPORTED_MESSAGE})
    model: str | None = Field(None, max_length=200)
    workspace: str | None = None
    tool_calls: list[ImportedToolCall] | None = None
    pinned: bool = False


class ProjectCreate(Body):
    name: str = Field(json_schema_extra=NOT_BLANK)
    color: str | None = Field(None, json_schema_extra=COLOR)


class ProjectRename(Body):
    project_id: str
    name: str = Field(json_schema_extra=NOT_BLANK)
    color: str | None = Field(None, json_schema_extra=COLOR)


class ProjectRef(Body):
    project_id: str


class ChatStart(SessionRef):
    message: str = Field(max_length=200_000, json_schema_extra=NOT_BLANK)
    model: str | None = Field(None, max_length=200)
    workspace: str | None = None
    attachments: list[dict[str, Any] | str] | None = Field(None, max_length=20)


class StreamRef(Body):
    stream_id: str = Field(json_schema_extra={"minLength": 1})


class ApprovalAnswer(SessionRef):
    choice: str = Field(
        description="once, session, always or deny", json_schema_extra={"enum": list(CHOICES)}
    )
    approval_id: str | None = None


def _omittable(schema: dict[str, Any]) -> None:
    """A field that may be left out but never sent as null: its schema has no null default."""
    schema.pop("default", None)


def _installed_provider(schema: dict[str, Any]) -> None:
    """Omittable, and one of the provider plugins installed when the schema is built (the
    settings check the name again when it is saved)."""
    from hermes_agent.providers import PROVIDERS

    _omittable(schema)
    schema["enum"] = list(PROVIDERS.names())


class SettingsUpdate(Body):
    """Only the fields sent are changed; an empty string or null clears a text setting."""

    # No null for these three: they have no empty state to go back to (omit them instead).
    provider: str = Field(None, max_length=100, json_schema_extra=_installed_provider)
    base_url: str | None = Field(None, max_length=500)
    model: str | None = Field(None, max_length=200)
    api_key: str | None = Field(None, max_length=500, description="Write-only.")
    model_path: str | None = Field(None, max_length=1000)
    context_length: WholeNumber = Field(None, ge=512, le=10_000_000, json_schema_extra=_omittable)
    llm_titles: bool = Field(None, json_schema_extra=_omittable)
    memory: bool = Field(None, json_schema_extra=_omittable)


class SideQuestion(SessionRef):
    question: str = Field(max_length=200_000, json_schema_extra=NOT_BLANK)


class BackgroundTask(SessionRef):
    prompt: str = Field(max_length=200_000, json_schema_extra=NOT_BLANK)


class Login(Body):
    password: str = Field(max_length=1000)


# ── memory and skills ────────────────────────────────────────────────────────────────────
MemoryTarget = Literal["memory", "user"]
SKILL_NAME = {"pattern": "^[a-z0-9][a-z0-9-]{0,63}$"}


class MemoryEdit(Body):
    target: MemoryTarget = Field(description="`memory` (MEMORY.md) or `user` (USER.md).")
    text: str = Field(
        max_length=100_000,
        description="The whole file as the user edited it: entries separated by lines "
        "holding `§`. Held to the file's limit; keys are masked.",
    )


class MemoryClear(Body):
    target: MemoryTarget | None = Field(None, description="Leave it out to clear both files.")


class SkillRef(Body):
    name: str = Field(
        description="The skill's name: lowercase letters, digits and dashes.",
        json_schema_extra=SKILL_NAME,
    )


class SkillSave(SkillRef):
    content: str = Field(max_length=100_000, description="The whole SKILL.md; it must parse.")


class SkillSwitch(SkillRef):
    enabled: bool


# ── MCP servers ──────────────────────────────────────────────────────────────────────────
MCP_SERVER_NAME = {"pattern": "^[a-z0-9][a-z0-9_-]{0,31}$"}
ShortText = Annotated[str, Field(max_length=4096)]


class McpServerSettings(Body):
    """A server as the Tools page edits it. Whether it is trusted (its tools run unasked) is
    not here: that is set in config.yaml or with `hermes mcp add --trust` only."""

    command: str | None = Field(None, max_length=4096, description="For stdio: the program.")
    args: list[ShortText] = Field(default_factory=list, max_length=200)
    env: dict[str, ShortText] = Field(
        default_factory=dict,
        max_length=100,
        description="Values may be `${VAR}`; a masked value sent back keeps the saved one.",
    )
    cwd: str | None = Field(None, max_length=4096)
    url: str | None = Field(None, max_length=4096, description="For streamable HTTP.")
    headers: dict[str, ShortText] = Field(default_factory=dict, max_length=100)
    enabled: bool = True
    timeout: float = Field(60.0, gt=0, le=3600, description="Seconds a tool call may take.")
    startup_timeout: float = Field(30.0, gt=0, le=600)
    include: list[ShortText] = Field(default_factory=list, max_length=500)
    exclude: list[ShortText] = Field(default_factory=list, max_length=500)


class McpServerRef(Body):
    name: str = Field(description="The server's name.", json_schema_extra=MCP_SERVER_NAME)


class McpServerSave(McpServerRef):
    server: McpServerSettings


class McpServerSwitch(McpServerRef):
    enabled: bool


class McpServerTest(McpServerRef):
    server: McpServerSettings | None = Field(
        None, description="Settings to try before saving; leave out to test the saved ones."
    )


# ── scheduled jobs ───────────────────────────────────────────────────────────────────────
CRON_JOB_ID = r"^[0-9a-f]{12}$"


class CronJobRef(Body):
    id: str = Field(description="The job's id: 12 hexadecimal digits.", pattern=CRON_JOB_ID)


class CronJobPause(CronJobRef):
    paused: bool = Field(description="True pauses; false resumes from the next slot after now.")


class CronJobSave(Body):
    """A job as the Scheduled page edits it; every rule is checked by `hermes_cron.jobs`,
    whose reason comes back as the 400."""

    id: str | None = Field(
        None, pattern=CRON_JOB_ID, description="The job to change; leave out to create one."
    )
    name: str | None = Field(
        None, max_length=200, description="Shown in lists; empty: the prompt's first words."
    )
    prompt: str = Field(max_length=20_000, description="What the agent is asked at each run.")
    schedule: str = Field(
        max_length=200,
        description="`0 8 * * 1-5` (cron), `every 2h`, `in 30m` or `2026-12-24T09:00`.",
    )
    deliver: str = Field(
        "web", max_length=100, description="`web`, `telegram:<chat id>` or `webhook:<name>`."
    )
    skills: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list, max_length=50, description="Skills each run loads, by name."
    )
    model: str | None = Field(None, max_length=200, description="Empty: the default model.")
    workspace: str | None = Field(
        None, max_length=4096, description="The runs' working folder; empty: the default one."
    )
    timezone: str | None = Field(
        None, max_length=64, description="IANA zone of the schedule; empty: the setting."
    )
    may_schedule: bool | None = Field(
        None, description="Whether its runs may create jobs (offered the `cronjob` tool)."
    )
