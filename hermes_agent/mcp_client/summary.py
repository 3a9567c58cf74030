"""The agent's tools in a few lines, for `/tools` in the terminal and the chat apps."""

from __future__ import annotations

from hermes_agent.mcp_client.hub import McpHub
from hermes_agent.settings import Settings

MAX_LISTED = 12  # tools named per server; the rest are counted
STATES = {
    "idle": "starts with the first conversation",
    "starting": "starting",
    "ready": "ready",
    "restarting": "restarting",
    "failed": "failed",
    "stopped": "stopped",
    "disabled": "off",
}


def tools_summary(settings: Settings, hub: McpHub) -> str:
    lines = ["**Tools**", ", ".join(settings.enabled_tools) or "(none)"]
    servers = hub.status()
    if not servers:
        lines += ["", "No MCP servers (add one with `hermes mcp add`)."]
    for server in servers:
        lines += ["", _server_line(server)]
        offered = [t for t in server["tools"] if t["offered"]]
        names = [f"mcp_{server['name']}_{t['name']}" for t in offered[:MAX_LISTED]]
        if len(offered) > MAX_LISTED:
            names.append(f"and {len(offered) - MAX_LISTED} more")
        if names:
            lines.append(", ".join(names))
    if hub.config_error():
        lines += ["", f"⚠️ {hub.config_error()}"]
    return "\n".join(lines)


def _server_line(server: dict) -> str:
    state = STATES.get(server["state"], server["state"])
    line = f"**MCP {server['name']}** ({server['config']['transport']}): {state}"
    if server["config"].get("trusted"):
        line += ", trusted"
    if server["error"] and server["state"] != "ready":
        line += f" — {server['error']}"
    return line
