"""How full a session's context window is, for the usage indicator of the chat header.

The figure is the same pre-call estimate the agent uses to decide on compression (characters
/ 4 over the history the model will see plus the tool definitions), taken from the stored
transcript. A provider-reported prompt count would go stale with every retry, undo or edit;
the estimate always describes the conversation as it stands now.
"""

from __future__ import annotations

from typing import Any

from api import agent_runtime, session_ops, turn_messages
from api.models import get_session
from hermes_agent.compression import estimate_tokens
from hermes_agent.errors import HermesError
from hermes_agent.settings import Settings
from hermes_agent.tools.registry import tools_named


def session_usage(session_id: str) -> dict[str, Any]:
    """Token and cost totals plus `context_tokens`, `context_length` and `threshold_tokens`."""
    totals = session_ops.session_usage(session_id)
    s = get_session(session_id)
    settings = agent_runtime.current_settings()
    length = int(s.context_length or settings.context_length)
    history = turn_messages.api_history(s.context_messages or s.messages)
    return {
        **totals,
        "context_tokens": estimate_tokens(history, _tool_schemas(settings)),
        "context_length": length,
        "threshold_tokens": int(length * settings.compression_threshold),
    }


def _tool_schemas(settings: Settings) -> list[dict[str, Any]]:
    """The tool definitions sent with every call; none when the provider cannot use tools."""
    try:
        supports_tools = agent_runtime.shared_provider().supports_tools
    except HermesError:
        supports_tools = True  # unreachable provider: count what a working one would be sent
    if not supports_tools:
        return []
    return [tool.schema() for tool in tools_named(settings.enabled_tools)]
