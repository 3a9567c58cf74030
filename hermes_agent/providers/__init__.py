"""Model providers behind one contract (`base.Provider`), found by name in a registry.

Every entry point of the `hermes_station.providers` group names a `base.ProviderPlugin`; the
built-in ones (`builtin.py`) are entry points of this distribution like any other's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hermes_agent.plugins import Registry
from hermes_agent.providers.base import Provider, ProviderPlugin

if TYPE_CHECKING:
    from hermes_agent.settings import Settings

PROVIDERS: Registry[ProviderPlugin] = Registry("hermes_station.providers", ProviderPlugin)


def create_provider(settings: Settings) -> Provider:
    """The provider the settings name (validated: it is installed); SDKs are imported only
    for the one in use."""
    return PROVIDERS[settings.provider].create(settings)
