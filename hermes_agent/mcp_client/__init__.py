"""The agent as an MCP client: servers from config.yaml's `mcp_servers:`, their tools offered
to the model as `mcp_<server>_<tool>` (docs/agent.md, "MCP servers")."""

from hermes_agent.mcp_client.hub import McpHub, shared_hub

__all__ = ["McpHub", "shared_hub"]
