"""Model providers behind one contract (`base.Provider`), chosen from the settings."""

from __future__ import annotations

from hermes_agent.providers.base import Provider
from hermes_agent.settings import Settings


def create_provider(settings: Settings) -> Provider:
    """The provider the settings name; SDKs are imported only for the one in use."""
    if settings.provider == "openai":
        from hermes_agent.providers.openai_compat import OpenAICompatProvider

        return OpenAICompatProvider(
            settings.base_url,
            settings.api_key,
            timeout=settings.request_timeout,
            max_retries=settings.max_retries,
        )
    if settings.provider == "anthropic":
        from hermes_agent.providers.anthropic import AnthropicProvider

        return AnthropicProvider(
            settings.api_key,
            settings.base_url,
            timeout=settings.request_timeout,
            max_retries=settings.max_retries,
        )
    from hermes_agent.providers.local import LocalProvider

    return LocalProvider(settings.model_path, min(settings.context_length, 8192))
