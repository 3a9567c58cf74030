"""Cost accounting from provider-reported usage."""

from __future__ import annotations

import pytest

from hermes_agent.providers.base import Usage
from hermes_agent.usage import TurnUsage, estimate_cost, price_for


def _turn(*usages: Usage) -> TurnUsage:
    turn = TurnUsage()
    for usage in usages:
        turn.add(usage)
    return turn


def test_usage_adds_up_over_the_calls_of_a_turn():
    turn = _turn(Usage(100, 10, cache_read_tokens=40), Usage(200, 20, reasoning_tokens=5), None)
    data = turn.report("gpt-4o-mini", "openai").as_dict()
    assert (data["input_tokens"], data["output_tokens"], data["total_tokens"]) == (300, 30, 330)
    assert (data["cache_read_tokens"], data["reasoning_tokens"], data["api_calls"]) == (40, 5, 3)


def test_known_models_are_priced_with_cached_input_cheaper():
    cost, status = estimate_cost(_turn(Usage(1_000_000, 1_000_000)), "gpt-4o-mini", "openai")
    assert status == "estimated"
    assert cost == pytest.approx(0.15 + 0.60)
    cached, _ = estimate_cost(
        _turn(Usage(1_000_000, 0, cache_read_tokens=1_000_000)), "gpt-4o-mini", "openai"
    )
    assert cached == pytest.approx(0.075)


def test_the_longest_matching_price_wins_and_provider_prefixes_are_ignored():
    assert price_for("openai/gpt-4o-mini-2024-07-18") == price_for("gpt-4o-mini")
    assert price_for("gpt-4o-2024-08-06") != price_for("gpt-4o-mini")
    assert price_for("anthropic/claude-sonnet-4-5") == (3.00, 15.00, 0.30)


def test_unknown_models_have_unknown_cost_and_the_local_model_is_included():
    assert estimate_cost(_turn(Usage(10, 10)), "my-own-model", "openai") == (None, "unknown")
    assert estimate_cost(_turn(Usage(10, 10)), "smollm2-135m", "local") == (0.0, "included")
