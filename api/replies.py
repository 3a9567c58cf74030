"""The JSON replies of the HTTP API, described once so `/openapi.json` tells clients the truth.

Handlers build their replies as plain data (orjson-encoded, byte-compatible with the original
web UI's clients) and declare these models as their `response_model`: FastAPI does not
re-validate a `Response` a handler returns, so the models document the wire format without
touching it. The suite fuzzes the live server against this schema, so a reply that drifts from
its model fails there.

Every model allows fields it does not name: replies may grow, and clients ignore what they do
not know.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.validation import SESSION_ID_PATTERN

Message = dict[str, Any]


class Reply(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Ok(Reply):
    ok: Literal[True]


# ── sessions ─────────────────────────────────────────────────────────────────────────────
class ListedSession(Reply):
    """What every conversation in the sidebar has, whichever surface it was started on."""

    session_id: str
    title: str
    model: str | None
    message_count: int
    created_at: float | None
    updated_at: float | None
    last_message_at: float | None
    pinned: bool
    archived: bool
    project_id: str | None
    input_tokens: int
    output_tokens: int
    estimated_cost: float | None


class CompactSession(ListedSession):
    """A web session's sidebar row (its *compact* form). Times are Unix seconds."""

    session_id: str = Field(json_schema_extra={"pattern": SESSION_ID_PATTERN})
    workspace: str
    model: str
    created_at: float
    updated_at: float
    last_message_at: float
    profile: str | None
    personality: str | None
    compression_anchor_visible_idx: int | None
    compression_anchor_message_key: str | None
    context_length: int | None
    threshold_tokens: int | None
    last_prompt_tokens: int | None
    active_stream_id: str | None
    has_pending_message: bool
    is_streaming: bool


class OtherSurfaceSession(ListedSession):
    """A conversation of the terminal, a chat app or `hermes chat`, read from state.db."""

    source: str | None
    is_cli_session: Literal[True]


class SessionWithMessages(CompactSession):
    messages: list[Message]


class SearchMatch(BaseModel):
    """How a row matched; absent when the query is empty and every session is listed."""

    match_type: Literal["title", "content"] | None = None
    snippet: str | None = Field(None, description="Where the text matched (content matches).")


class WebSearchHit(CompactSession, SearchMatch):
    pass


class OtherSurfaceSearchHit(OtherSurfaceSession, SearchMatch):
    pass


class TranscriptPage(Reply):
    """The transcript part of `GET /api/session`: a page of messages and where it starts."""

    messages: list[Message]
    tool_calls: list[Any]
    pending_user_message: str | None
    messages_truncated: bool = Field(alias="_messages_truncated")
    messages_offset: int = Field(alias="_messages_offset")


class WebSessionDetail(CompactSession, TranscriptPage):
    pending_attachments: list[Any]
    pending_started_at: float | None
    context_length: int
    threshold_tokens: int
    last_prompt_tokens: int


class OtherSurfaceDetail(OtherSurfaceSession, TranscriptPage):
    read_only: Literal[True]
    continue_id: str = Field(description="The id `import_cli` continues it under.")


class SessionRead(Reply):
    session: WebSessionDetail | OtherSurfaceDetail


class SessionCreated(Reply):
    session: SessionWithMessages


class SessionEdited(Ok):
    session: CompactSession


class SessionEditedWithMessages(Ok):
    session: SessionWithMessages


class SessionContinued(SessionEditedWithMessages):
    imported: bool = Field(description="False when the web session already existed.")


class SessionList(Reply):
    sessions: list[CompactSession | OtherSurfaceSession]
    total: int
    offset: int
    limit: int | None
    cli_count: int
    server_time: float
    server_tz: str


class SearchResults(Reply):
    sessions: list[WebSearchHit | OtherSurfaceSearchHit]
    query: str
    count: int


class SessionExport(Reply):
    """A session file as stored (secrets masked): `POST /api/session/import` takes it back."""

    session_id: str
    title: str
    messages: list[Message]
    tool_calls: list[Any]


class Retried(Ok):
    last_user_text: str
    removed_count: int


class Undone(Ok):
    removed_count: int
    removed_preview: str


class TokenTotals(Reply):
    input_tokens: int
    output_tokens: int
    total_tokens: int
    estimated_cost: float | None


class SessionStatus(TokenTotals):
    session_id: str
    title: str
    model: str
    workspace: str
    personality: str | None
    message_count: int
    created_at: float
    updated_at: float
    agent_running: bool


class SessionUsage(TokenTotals):
    model: str
    context_tokens: int
    context_length: int
    threshold_tokens: int


# ── projects ─────────────────────────────────────────────────────────────────────────────
class Project(Reply):
    project_id: str
    name: str
    color: str
    created_at: float


class ProjectList(Reply):
    projects: list[Project]


class ProjectSaved(Ok):
    project: Project


# ── chat ─────────────────────────────────────────────────────────────────────────────────
class RunStarted(Reply):
    stream_id: str
    session_id: str


class AsideStarted(RunStarted):
    session_id: str = Field(description="The side question's own id; it is never stored.")
    parent_session_id: str


class BackgroundStarted(RunStarted):
    task_id: str


class StreamStatus(Reply):
    active: bool
    stream_id: str
    finished: bool


class Cancelled(Ok):
    cancelled: bool = Field(description="False when the run was unknown or had ended.")
    stream_id: str


class PendingApproval(Reply):
    approval_id: str
    session_id: str
    command: str
    reason: str
    requested_at: float
    choices: list[str]


class ApprovalsPending(Reply):
    pending: PendingApproval | None
    pending_count: int
    all: list[PendingApproval]


class ApprovalAnswered(Ok):
    choice: str


class BackgroundResult(Reply):
    task_id: str
    prompt: str
    session_id: str
    answer: str | None
    completed_at: float | None


class BackgroundResults(Reply):
    results: list[BackgroundResult]


# ── settings, auth, health ───────────────────────────────────────────────────────────────
class ProviderChoice(Reply):
    name: str
    title: str


class SettingsView(Reply):
    """The agent's settings; the API key is write-only (`api_key` is always null)."""

    provider: str
    model: str
    base_url: str | None
    api_key: None
    model_path: str | None
    context_length: int
    llm_titles: bool
    memory: bool = Field(description="Whether new conversations get the agent's memory.")
    api_key_set: bool
    web_settable: list[str]
    from_environment: list[str] = Field(description="Settings fixed by HERMES_* variables.")
    providers: list[ProviderChoice] = Field(description="The installed providers, to pick from.")


class ModelList(Reply):
    provider: str
    current: str
    models: list[str]
    vision: dict[str, bool] = Field(
        description="Whether each listed model, and the current one, sees images."
    )


class ProviderAnswered(Ok):
    provider: str
    model: str
    reply: str
    latency_ms: int


PasswordSource = Literal["environment", "settings"]


class AuthStatus(Reply):
    auth_required: bool
    authenticated: bool
    password_source: PasswordSource | None
    csrf_token: str | None = Field(None, description="Only with a password and a session.")


class LoggedIn(Ok):
    csrf_token: str = Field(description="Send it as `X-Hermes-CSRF` with every write.")


class PasswordChanged(Ok):
    auth_required: bool
    password_source: PasswordSource | None
    csrf_token: str | None = Field(None, description="For the new session, when one is set.")


class SkippedEntry(Reply):
    entry: str
    reason: str


class ArchiveImported(Reply):
    imported: int = Field(description="Conversations stored, each as a new one.")
    files: int = Field(description="Files put back in the attachment store.")
    sessions: list[str] = Field(description="The new conversations' ids.")
    skipped: list[SkippedEntry] = Field(description="Entries not taken, and why.")


class Uploaded(Reply):
    id: str = Field(description="The SHA-256 of the bytes: the same file is stored once.")
    filename: str
    size: int
    mime: str = Field(description="Sniffed from the bytes, never taken from the client.")
    is_image: bool
    width: int | None = None
    height: int | None = None


# ── the workspace ────────────────────────────────────────────────────────────────────────
class WorkspaceEntry(Reply):
    name: str = Field(description="Bytes of the name that are not UTF-8 show as U+FFFD.")
    kind: Literal["dir", "file", "link", "other"] = Field(
        description="`link`: a symbolic link, never followed in a listing; `other`: a pipe, "
        "socket or device."
    )
    size: int | None = Field(description="Bytes, for files only.")
    mtime: float = Field(description="Last modified, Unix seconds.")
    target: Literal["dir", "file"] | None = Field(
        None,
        description="Links only: what the link leads to when it stays inside the workspace "
        "and outside protected directories (it is then followed by path); null otherwise.",
    )


class WorkspaceListing(Reply):
    path: str = Field(description="The directory, relative to the workspace (`` for its root).")
    entries: list[WorkspaceEntry] = Field(description="Directories first, then by name.")
    total: int = Field(description="Entries in the whole directory.")
    offset: int
    limit: int


class WorkspaceUploaded(Reply):
    path: str = Field(description="Where the file now is, relative to the workspace.")
    name: str
    size: int
    overwritten: bool = Field(description="Whether a file of that name was replaced.")


class ChangedFile(Reply):
    path: str
    tool: Literal["write_file", "edit_file", "save_attachment"] = Field(
        description="The last tool that wrote it in those turns."
    )
    mtime: float
    size: int


class WorkspaceChanges(Reply):
    session_id: str = Field(json_schema_extra={"pattern": SESSION_ID_PATTERN})
    live: bool = Field(description="Whether a run of the conversation is live.")
    stream_id: str | None = Field(description="The live run's id, if one is.")
    turn_started_at: float | None = Field(
        description="When the earliest turn these changes come from began (Unix seconds)."
    )
    files: list[ChangedFile] = Field(description="By path.")


class StoreHealth(Reply):
    status: Literal["ok", "replaced", "unavailable"]
    damaged_copy: str | None = Field(None, description="A damaged store moved aside at start.")
    error: str | None = Field(None, description="Why the store cannot be used.")
    unrecovered: list[str] = Field(
        default_factory=list,
        description="Damaged copies set aside whose rows `hermes state repair` has not yet "
        "recovered.",
    )


class Health(Reply):
    status: Literal["ok"]
    version: str
    sessions: int
    active_streams: int
    uptime_seconds: float
    store: StoreHealth


# ── memory and skills ────────────────────────────────────────────────────────────────────
class MemoryFile(Reply):
    target: Literal["memory", "user"]
    file: str = Field(description="`MEMORY.md` or `USER.md`.")
    entries: list[str]
    text: str = Field(description="The entries joined by lines holding `§`, to edit.")
    used: int = Field(description="Characters the file holds, separators included.")
    limit: int = Field(description="Characters the file may hold.")


class MemoryView(Reply):
    enabled: bool = Field(description="The `memory` setting: whether conversations get it.")
    memory: MemoryFile
    user: MemoryFile


class MemorySaved(MemoryFile):
    ok: Literal[True]


class MemoryCleared(MemoryView):
    ok: Literal[True]


class SkillSummary(Reply):
    name: str
    description: str
    tags: list[str]
    version: str | None
    enabled: bool = Field(description="Off: left out of the prompt and of slash commands.")
    files: list[str] = Field(description="The skill's other files, relative to its folder.")


class BrokenSkill(Reply):
    name: str
    error: str = Field(description="Why its SKILL.md cannot be read.")


class SkillList(Reply):
    skills: list[SkillSummary] = Field(description="By name, those turned off included.")
    broken: list[BrokenSkill] = Field(description="Skill folders whose SKILL.md is unreadable.")


class SkillDetail(SkillSummary):
    content: str = Field(description="SKILL.md as it is on disk.")
    error: str | None = Field(description="Why SKILL.md does not parse, if it does not.")


class SkillSaved(Ok):
    created: bool
    skill: SkillSummary


class SkillSwitched(Ok):
    name: str
    enabled: bool


class SkillsImported(Reply):
    imported: list[str] = Field(description="The skills written, by name.")
    skipped: list[SkippedEntry] = Field(description="Entries or skills not taken, and why.")
    existing: list[str] = Field(
        description="Skills skipped only because one of that name is installed (import "
        "with `overwrite=1` to replace them)."
    )


# ── tools and MCP servers ────────────────────────────────────────────────────────────────
class BuiltinTool(Reply):
    name: str
    description: str
    enabled: bool = Field(description="Offered to the model (the `enabled_tools` setting).")


class McpTool(Reply):
    name: str = Field(description="As the server names it; the model sees `mcp_<server>_<name>`.")
    description: str
    read_only: bool = Field(description="Marked read-only by its server: runs unasked.")
    offered: bool = Field(description="Let through by the server's include/exclude lists.")


class McpServerStatus(Reply):
    name: str
    config: dict[str, Any] = Field(description="As in config.yaml, written secrets masked.")
    state: Literal["idle", "starting", "ready", "restarting", "failed", "stopped", "disabled"] = (
        Field(description="`idle`: not started yet (servers start with the first conversation).")
    )
    error: str | None
    server: dict[str, Any] = Field(description="The name and version the server gave.")
    restarts: int
    tools: list[McpTool]
    resources: list[dict[str, Any]]
    prompts: list[dict[str, Any]]


class ToolsView(Reply):
    builtin: list[BuiltinTool]
    mcp_servers: list[McpServerStatus]
    mcp_error: str | None = Field(description="Why the mcp_servers section cannot be read.")


class McpServerSaved(Ok):
    server: McpServerStatus


# ── scheduled jobs ───────────────────────────────────────────────────────────────────────
class CronRun(Reply):
    id: int
    job_id: str
    job_name: str | None = Field(None, description="The job's name, when it still exists.")
    slot: float = Field(
        description="The scheduled moment (Unix seconds); for a manual run, when it was asked for."
    )
    status: Literal["running", "ok", "silent", "failed", "skipped"]
    trigger: Literal["schedule", "manual"]
    started_at: float | None
    finished_at: float | None
    session_id: str | None = Field(description="The run's conversation (state.db, source cron).")
    result: str | None = Field(
        description="The answer, with what was refused for want of someone to approve it."
    )
    error: str | None
    delivered: str | None = Field(description="Where the answer went, or `failed: <why>`.")


class CronJob(Reply):
    id: str
    name: str
    prompt: str
    schedule: str
    schedule_kind: Literal["cron", "every", "once"]
    timezone: str
    deliver: str
    skills: list[str]
    model: str | None
    workspace: str | None
    paused: bool
    may_schedule: bool
    origin: str | None
    created_at: float
    updated_at: float
    next_run_at: float | None
    last_run_at: float | None
    last_status: str | None
    description: str = Field(description="The schedule in words.")
    next_run: str | None = Field(description="The next run, ISO 8601 in the job's zone.")
    last_run: CronRun | None


class CronJobList(Reply):
    jobs: list[CronJob] = Field(description="Oldest first.")
    timezone: str = Field(description="The `timezone` setting: new jobs' default zone.")


class CronRunList(Reply):
    runs: list[CronRun] = Field(description="Newest first.")
    now: float = Field(description="The server's clock (Unix seconds), to ask `since` next.")


class CronPreview(Reply):
    schedule: str = Field(description="As it would be saved (normalised).")
    description: str
    next: list[str] = Field(description="The next (up to) three runs, ISO 8601 in the zone.")


class CronJobSaved(Ok):
    job: CronJob
    warning: str | None = Field(
        None,
        description="Why answers could not reach the job's target as things are set up now "
        "(the job is saved all the same).",
    )


class CronRunStarted(Ok):
    run_id: int
