"""The agent's tools from the browser: the built-in ones, and the MCP servers to add, edit,
remove, switch on and off, and test.

A server's written secrets (env and header values that are not `${VAR}` references) are never
sent back: they come masked, and a masked value saved again keeps what was there. Whether a
server is trusted, so that its tools run without asking, is not settable here, as the approval
policy is not: nothing the agent can reach over HTTP may loosen what asks the user.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api import replies
from api.openapi_extras import errors
from api.responses import NO_STORE, JSONResponse
from api.schemas import (
    McpServerRef,
    McpServerSave,
    McpServerSettings,
    McpServerSwitch,
    McpServerTest,
)
from hermes_agent.errors import NotFound
from hermes_agent.mcp_client import shared_hub
from hermes_agent.mcp_client.config import (
    ServerConfig,
    check_name,
    load_servers,
    parse_server,
    remove_server,
    save_server,
    unmasked,
)
from hermes_agent.runtime import current_settings
from hermes_agent.tools.registry import TOOLS

router = APIRouter(tags=["tools"])


@router.get(
    "/api/tools", summary="The built-in tools and the MCP servers", response_model=replies.ToolsView
)
def list_tools() -> JSONResponse:
    return JSONResponse(_view(), headers=NO_STORE)


@router.post(
    "/api/mcp/server/save",
    summary="Add an MCP server or change one; saved to config.yaml",
    response_model=replies.McpServerSaved,
)
def save(body: McpServerSave) -> JSONResponse:
    saved = load_servers().get(body.name)
    config = _config(body.name, body.server, saved)
    save_server(body.name, config)
    return JSONResponse({"ok": True, "server": _status(body.name)})


@router.post(
    "/api/mcp/server/enable",
    summary="Switch an MCP server on or off",
    response_model=replies.McpServerSaved,
    responses=errors(404),
)
def switch(body: McpServerSwitch) -> JSONResponse:
    config = _saved(body.name)
    save_server(body.name, config.model_copy(update={"enabled": body.enabled}))
    return JSONResponse({"ok": True, "server": _status(body.name)})


@router.post(
    "/api/mcp/server/delete",
    summary="Remove an MCP server from config.yaml (its process is stopped)",
    response_model=replies.Ok,
    responses=errors(404),
)
def delete(body: McpServerRef) -> JSONResponse:
    if not remove_server(body.name):
        raise NotFound(f"there is no MCP server named {body.name!r}")
    shared_hub().reload()
    return JSONResponse({"ok": True})


@router.post(
    "/api/mcp/server/test",
    summary="Connect to an MCP server once and list what it offers",
    response_model=replies.McpServerStatus,
    responses=errors(404),
)
def test(body: McpServerTest) -> JSONResponse:
    if body.server is None:
        return JSONResponse(shared_hub().test(body.name, _saved(body.name)))
    config = _config(body.name, body.server, load_servers().get(body.name))
    return JSONResponse(shared_hub().test(body.name, config))


def _config(name: str, edited: McpServerSettings, saved: ServerConfig | None) -> ServerConfig:
    """The edited settings as a server's configuration: masked secrets kept from the saved
    one, and `trusted` too, as long as it still runs the same program or reaches the same
    address (trust was given to that, not to whatever the name comes to mean)."""
    values: dict[str, Any] = edited.model_dump()
    values["env"] = unmasked(edited.env, saved.env if saved else {})
    values["headers"] = unmasked(edited.headers, saved.headers if saved else {})
    config = parse_server(check_name(name), values)
    if saved is not None and saved.trusted and _same_target(config, saved):
        config = config.model_copy(update={"trusted": True})
    return config


def _same_target(a: ServerConfig, b: ServerConfig) -> bool:
    return (a.command, a.args, a.cwd, a.url) == (b.command, b.args, b.cwd, b.url)


def _saved(name: str) -> ServerConfig:
    config = load_servers().get(name)
    if config is None:
        raise NotFound(f"there is no MCP server named {name!r}")
    return config


def _status(name: str) -> dict[str, Any]:
    hub = shared_hub()
    hub.reload()
    return next(s for s in hub.status() if s["name"] == name)


def _view() -> dict[str, Any]:
    hub = shared_hub()
    enabled = set(current_settings().enabled_tools)
    builtin = [
        {"name": t.name, "description": t.description, "enabled": t.name in enabled} for t in TOOLS
    ]
    return {"builtin": builtin, "mcp_servers": hub.status(), "mcp_error": hub.config_error()}
