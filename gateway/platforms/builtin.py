"""The chat platforms that come with Hermes Station, registered through this distribution's
`hermes_station.platforms` entry points exactly as a third party's would be.

Each factory imports its adapter (and so the platform's library) only when the platform is
enabled; the checks run before anything starts, so a missing token is reported at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hermes_agent.errors import ConfigError
from hermes_agent.plugins import PlatformPlugin
from hermes_agent.settings import TelegramSettings, WebhookSettings

if TYPE_CHECKING:
    from gateway.platforms.base import Adapter
    from gateway.run import GatewayRunner


def _telegram(settings: TelegramSettings, runner: GatewayRunner) -> Adapter:
    from gateway.platforms.telegram import TelegramAdapter

    return TelegramAdapter(settings, runner)


def _telegram_ready(settings: TelegramSettings) -> None:
    if not settings.token:
        raise ConfigError(
            "Telegram needs the bot's token: hermes config set gateway.telegram.token TOKEN "
            "(or HERMES_TELEGRAM_TOKEN)"
        )


def _webhook(settings: WebhookSettings, runner: GatewayRunner) -> Adapter:
    from gateway.platforms.webhook import WebhookAdapter

    return WebhookAdapter(settings, runner)


def _webhook_ready(settings: WebhookSettings) -> None:
    if not settings.hooks:
        raise ConfigError("the webhook needs at least one hook with a secret (docs/gateway.md)")


TELEGRAM = PlatformPlugin("telegram", TelegramSettings, _telegram, _telegram_ready)
# A webhook request is let in by its signature: the hook's secret is its access control.
WEBHOOK = PlatformPlugin("webhook", WebhookSettings, _webhook, _webhook_ready, trusted=True)
