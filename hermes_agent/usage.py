"""Token and cost accounting for one turn, from the provider's own usage reports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hermes_agent.providers.base import Usage

# USD per million tokens: (input, output, cached input). Longest matching prefix wins.
PRICES: dict[str, tuple[float, float, float]] = {
    "gpt-4o-mini": (0.15, 0.60, 0.075),
    "gpt-4o": (2.50, 10.00, 1.25),
    "gpt-4.1-nano": (0.10, 0.40, 0.025),
    "gpt-4.1-mini": (0.40, 1.60, 0.10),
    "gpt-4.1": (2.00, 8.00, 0.50),
    "o4-mini": (1.10, 4.40, 0.275),
    "o3-mini": (1.10, 4.40, 0.55),
    "claude-haiku-4-5": (1.00, 5.00, 0.10),
    "claude-3-5-haiku": (0.80, 4.00, 0.08),
    "claude-sonnet-4": (3.00, 15.00, 0.30),
    "claude-3-7-sonnet": (3.00, 15.00, 0.30),
    "claude-3-5-sonnet": (3.00, 15.00, 0.30),
    "claude-opus-4": (15.00, 75.00, 1.50),
}


@dataclass
class TurnUsage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    api_calls: int = 0

    def add(self, usage: Usage | None) -> None:
        self.api_calls += 1
        if usage is None:
            return
        self.input_tokens += usage.input_tokens
        self.output_tokens += usage.output_tokens
        self.cache_read_tokens += usage.cache_read_tokens
        self.cache_write_tokens += usage.cache_write_tokens
        self.reasoning_tokens += usage.reasoning_tokens

    def absorb(self, other: TurnUsage | UsageReport) -> None:
        """Count another turn's whole usage (a sub-agent's) as part of this one."""
        self.api_calls += other.api_calls
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_read_tokens += other.cache_read_tokens
        self.cache_write_tokens += other.cache_write_tokens
        self.reasoning_tokens += other.reasoning_tokens

    def report(self, model: str, provider: str) -> UsageReport:
        cost, status = estimate_cost(self, model, provider)
        return UsageReport(**vars(self), estimated_cost_usd=cost, cost_status=status)


@dataclass(frozen=True)
class UsageReport(Usage):
    """Usage with its estimated cost: of one model call, or of a whole turn."""

    api_calls: int = 0
    estimated_cost_usd: float | None = None
    cost_status: str = "unknown"

    def as_dict(self) -> dict[str, Any]:
        """The shape the surfaces send to their clients."""
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "total_tokens": self.input_tokens + self.output_tokens,
            "api_calls": self.api_calls,
            "estimated_cost_usd": self.estimated_cost_usd,
            "cost_status": self.cost_status,
        }


def estimate_cost(usage: TurnUsage, model: str, provider: str) -> tuple[float | None, str]:
    """(cost in USD, status): "included" for the local model, "unknown" without a price."""
    if provider == "local":
        return 0.0, "included"
    price = price_for(model)
    if price is None:
        return None, "unknown"
    input_price, output_price, cached_price = price
    uncached = max(usage.input_tokens - usage.cache_read_tokens, 0)
    cost = (
        uncached * input_price
        + usage.cache_read_tokens * cached_price
        + usage.output_tokens * output_price
    ) / 1_000_000
    return round(cost, 8), "estimated"


def price_for(model: str) -> tuple[float, float, float] | None:
    name = model.rsplit("/", 1)[-1].lower()
    best = max((p for p in PRICES if name.startswith(p)), key=len, default=None)
    return PRICES[best] if best else None


def session_usage(agent: Any) -> dict[str, Any]:
    """An agent's running totals since it was built, and how full its context is.

    Read with defaults, so any agent-like object will do.
    """
    compressor = getattr(agent, "context_compressor", None)
    used = int(getattr(compressor, "last_prompt_tokens", 0) or 0)
    limit = int(getattr(compressor, "context_length", 0) or 0)
    prompt = int(getattr(agent, "session_input_tokens", 0) or 0)
    completion = int(getattr(agent, "session_output_tokens", 0) or 0)
    return {
        "model": getattr(agent, "model", "") or "",
        "input": prompt,
        "output": completion,
        "total": prompt + completion,
        "calls": int(getattr(agent, "session_api_calls", 0) or 0),
        "cost_usd": round(float(getattr(agent, "session_estimated_cost_usd", 0.0) or 0.0), 6),
        "context_used": used,
        "context_max": limit,
        "context_percent": round(100 * used / limit, 1) if limit else 0.0,
        "compressions": int(getattr(compressor, "compression_count", 0) or 0),
    }


def context_fill(history: list[dict[str, Any]], context_length: int) -> dict[str, int]:
    """How full the context window is for `history`: the same pre-call estimate the agent uses
    to decide on compression (characters / 4 over the history and the tool definitions), so
    it describes the conversation as it stands, which a provider's last count would not after
    an undo or an edit."""
    from hermes_agent.compression import estimate_tokens
    from hermes_agent.runtime import current_settings

    settings = current_settings()
    return {
        "context_tokens": estimate_tokens(history, _offered_tool_schemas(settings)),
        "context_length": context_length,
        "threshold_tokens": int(context_length * settings.compression_threshold),
    }


def _offered_tool_schemas(settings: Any) -> list[dict[str, Any]]:
    """The tool definitions sent with every call; none when the provider cannot use tools."""
    from hermes_agent.errors import HermesError
    from hermes_agent.runtime import shared_provider
    from hermes_agent.tools.registry import tools_named

    try:
        supports_tools = shared_provider().supports_tools
    except HermesError:
        supports_tools = True  # unreachable provider: count what a working one would be sent
    if not supports_tools:
        return []
    return [tool.schema() for tool in tools_named(settings.enabled_tools)]
