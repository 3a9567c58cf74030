"""`config.get`, `config.set`, `tools.list`, `cron.manage` and `commands.catalog`.

Settings come from config.yaml and the environment, read once (`hermes config set` changes
the file). The gateway changes only the model, in this process: for one live session, or for
the sessions opened after the change.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from tui_gateway import agents, server
from tui_gateway.params import NoParams, Params, SessionId
from tui_gateway.registry import method
from tui_gateway.rpc import BAD_VALUE, RpcError
from tui_gateway.session_state import info_of, refuse_if_running

# Slash commands a client offers, and the method each one calls.
COMMANDS = (
    ("/new", "session.create", "Start a new conversation"),
    ("/sessions", "session.list", "List recent sessions of every surface"),
    ("/resume", "session.resume", "Continue a session by id, id prefix or title"),
    ("/title", "session.title", "Show or set this session's title"),
    ("/usage", "session.usage", "Tokens, cost and context used in this session"),
    ("/history", "session.history", "Show the whole conversation"),
    ("/undo", "session.undo", "Remove the last message and its answer"),
    ("/branch", "session.branch", "Go on in a copy of this conversation"),
    ("/compress", "session.compress", "Summarise the conversation so far to free context"),
    ("/stop", "session.interrupt", "Stop the running answer"),
    ("/model", "config.set", "Switch the model of this session"),
    ("/config", "config.get", "Show the settings"),
    ("/tools", "tools.list", "List the agent's tools and MCP servers"),
    ("/cron", "cron.manage", "List, add, pause, resume, remove or run scheduled jobs"),
    ("/delete", "session.delete", "Delete a stored session"),
    ("/quit", "session.close", "Close this session and leave"),
)


class GetParams(Params):
    key: str | None = Field(None, min_length=1, max_length=100)


class SetParams(Params):
    key: Literal["model"]
    value: str = Field(min_length=1, max_length=200)
    session_id: SessionId | None = None


@method("config.get", GetParams)
def get(p: GetParams) -> dict[str, Any]:
    """The effective settings, secrets masked; or the one named by `key`."""
    from hermes_agent.runtime import current_settings

    settings = {**current_settings().public(), "model": agents.default_model()}
    if p.key is None:
        return {"settings": settings}
    if p.key not in settings:
        raise RpcError(BAD_VALUE, f"unknown setting: {p.key}")
    return {"key": p.key, "value": settings[p.key]}


@method("config.set", SetParams)
def set_value(p: SetParams) -> dict[str, Any]:
    """Switch the model of one live session (`session_id`), or of sessions opened later."""
    if p.session_id is None:
        agents.set_default_model(p.value)
        return {"key": p.key, "value": p.value}
    session = server._session(p.session_id)
    with session["history_lock"]:
        refuse_if_running(session, "switching models")
        session["agent"].set_model(p.value)
    server._emit("session.info", p.session_id, info_of(p.session_id, session))
    return {"key": p.key, "value": p.value, "session_id": p.session_id}


@method("tools.list", NoParams, slow=True)
def tools(_: NoParams) -> dict[str, Any]:
    """The tools the agent is offered here: `text` for people, `mcp_servers` in detail."""
    from hermes_agent.mcp_client import shared_hub
    from hermes_agent.mcp_client.summary import tools_summary
    from hermes_agent.runtime import current_settings

    hub = shared_hub()
    return {"text": tools_summary(current_settings(), hub), "mcp_servers": hub.status()}


class CronParams(Params):
    action: Literal["list", "add", "show", "pause", "resume", "remove", "run"] = "list"
    job_id: str | None = Field(None, min_length=1, max_length=100)
    schedule: str | None = Field(None, max_length=200)
    prompt: str | None = Field(None, max_length=20_000)


@method("cron.manage", CronParams, slow=True)
def cron(p: CronParams) -> dict[str, Any]:
    """Scheduled jobs, as `/cron` manages them; a job added here delivers to the web UI.
    `run` runs the job in this process and waits for its answer."""
    from hermes_agent.errors import BadRequest, NotFound
    from hermes_agent.runtime import current_settings
    from hermes_cron.manage import Request, manage

    request = Request(p.action, job_id=p.job_id, schedule=p.schedule, prompt=p.prompt)
    try:
        text = manage(
            server._require_db(),
            request,
            deliver="web",
            origin="tui",
            timezone=current_settings().timezone,
        )
    except (BadRequest, NotFound) as exc:
        raise RpcError(BAD_VALUE, str(exc)) from None
    return {"text": text}


@method("commands.catalog", NoParams)
def catalog(_: NoParams) -> dict[str, Any]:
    return {
        "commands": [
            {"name": name, "method": rpc_method, "description": description}
            for name, rpc_method, description in COMMANDS
        ]
    }
