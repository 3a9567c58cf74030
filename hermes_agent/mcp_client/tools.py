"""An MCP server's tools as the agent's `Tool`s: `mcp_<server>_<tool>`, asking like `terminal`.

A tool runs unasked when its server marks it read-only (`readOnlyHint`), when the user marked
the server `trusted`, or when approvals are off; under `allowlist` any other MCP tool is refused,
and under `ask` the user is asked, with "for this session" covering that tool from then on.
What the model sends never reaches that decision.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from hermes_agent.errors import BadRequest, ToolError
from hermes_agent.mcp_client.connection import RemoteTool, ServerConnection
from hermes_agent.mcp_client.results import result_text
from hermes_agent.tools.registry import Tool, ToolContext

MAX_NAME = 64  # what the chat APIs accept as a function name
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
SHOWN_ARGUMENTS = 400


def tool_name(server: str, tool: str) -> str:
    return _UNSAFE.sub("_", f"mcp_{server}_{tool}")[:MAX_NAME]


def as_tool(connection: ServerConnection, remote: RemoteTool) -> Tool:
    schema = dict(remote.input_schema)
    if schema.get("type") != "object":
        schema = {"type": "object", "properties": {}}
    description = remote.description.strip() or f"The {remote.name} tool."
    return Tool(
        name=tool_name(connection.name, remote.name),
        description=f"[MCP server {connection.name}] {description}"[:1024],
        parameters=schema,
        handler=functools.partial(_call, connection, remote),
    )


def _call(
    connection: ServerConnection, remote: RemoteTool, args: dict[str, Any], ctx: ToolContext
) -> str:
    _authorise(connection, remote, args, ctx)
    result = connection.call(remote.name, args, ctx.cancel)

    def store(data: bytes, filename: str) -> str:
        from hermes_agent.runtime import attachment_store

        try:
            attachment = attachment_store().add_bytes(data, filename)
        except BadRequest as exc:
            return f"(not kept: {exc})"
        if ctx.session_id:
            attachment_store().refer(ctx.session_id, [attachment.id])
        return f"attachment:{attachment.id}"

    return connection.scrub(result_text(result, remote.name, store))


def _authorise(
    connection: ServerConnection, remote: RemoteTool, args: dict[str, Any], ctx: ToolContext
) -> None:
    if remote.read_only or connection.config.trusted or ctx.approval.mode == "off":
        return
    name = tool_name(connection.name, remote.name)
    if ctx.approval.mode == "allowlist":
        raise ToolError(
            f"the MCP tool {name} is not marked read-only and its server is not trusted, "
            "and approvals are off"
        )
    shown = json.dumps(args, ensure_ascii=False)
    if len(shown) > SHOWN_ARGUMENTS:
        shown = shown[:SHOWN_ARGUMENTS] + "…"
    ctx.require_approval(
        f"{name} {shown}",
        f"the MCP server {connection.name} may change things with it (not marked read-only)",
        subject=f"the MCP tool {name}",
        key=name,
    )
