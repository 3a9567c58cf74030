"""The providers that come with Hermes Station, registered through this distribution's
`hermes_station.providers` entry points exactly as a third party's would be.

Each factory imports its provider module (and so its SDK) only when called.
"""

from __future__ import annotations

from hermes_agent.providers.base import Provider, ProviderPlugin
from hermes_agent.settings import Settings

# llama.cpp allocates the whole window up front, and SmolLM2 was trained on 8192 tokens.
LOCAL_CONTEXT_CAP = 8192


def _openai(settings: Settings) -> Provider:
    from hermes_agent.providers.openai_compat import OpenAICompatProvider

    return OpenAICompatProvider(
        settings.base_url,
        settings.api_key,
        timeout=settings.request_timeout,
        max_retries=settings.max_retries,
    )


def _anthropic(settings: Settings) -> Provider:
    from hermes_agent.providers.anthropic import AnthropicProvider

    return AnthropicProvider(
        settings.api_key,
        settings.base_url,
        timeout=settings.request_timeout,
        max_retries=settings.max_retries,
    )


def _local(settings: Settings) -> Provider:
    from hermes_agent.providers.local import LocalProvider

    return LocalProvider(settings.model_path, min(settings.context_length, LOCAL_CONTEXT_CAP))


OPENAI = ProviderPlugin(
    "openai",
    _openai,
    title="OpenAI-compatible",
    default_model="gpt-4o-mini",
    key_env="OPENAI_API_KEY",
)
ANTHROPIC = ProviderPlugin(
    "anthropic",
    _anthropic,
    title="Anthropic",
    default_model="claude-sonnet-4-5",
    key_env="ANTHROPIC_API_KEY",
)
LOCAL = ProviderPlugin("local", _local, title="Local (bundled model)", default_model="smollm2-135m")
