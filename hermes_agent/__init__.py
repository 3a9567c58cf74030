"""The agent core: providers, tools, context compression and the agent loop.

Knows nothing about HTTP, terminals or chat apps; every surface drives `AIAgent`. Imported
lazily so that a surface importing only `hermes_agent.errors` stays light.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["AIAgent", "new_session_id"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from hermes_agent import agent

        return getattr(agent, name)
    raise AttributeError(f"module 'hermes_agent' has no attribute {name!r}")
