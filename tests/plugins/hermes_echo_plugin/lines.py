"""A chat platform for `hermes gateway`: the messages come from its settings section, the
answers go to a file, one line each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from gateway.events import Inbound
from gateway.platforms.base import Adapter, Answer, Channel
from hermes_agent.errors import ConfigError
from hermes_agent.plugins import PlatformPlugin


class LinesSettings(BaseModel):
    """The `gateway.lines` section of config.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    messages: tuple[str, ...] = ()
    outbox: str | None = None
    allowed_users: tuple[str, ...] = ()


class LinesAnswer(Answer):
    def __init__(self, channel: LinesChannel) -> None:
        self.channel = channel

    def feed(self, delta: str) -> None:
        return None

    async def close(self, final: str | None, notice: str | None) -> None:
        await self.channel.send(final or notice or "")


class LinesChannel(Channel):
    def __init__(self, outbox: Path) -> None:
        self.outbox = outbox

    async def send(self, text: str) -> None:
        with self.outbox.open("a", encoding="utf-8") as out:
            out.write(" ".join(text.split()) + "\n")

    def answer(self) -> Answer:
        return LinesAnswer(self)


class LinesAdapter(Adapter):
    name = "lines"

    def __init__(self, settings: LinesSettings, runner: Any) -> None:
        self.settings = settings
        self.runner = runner

    async def start(self) -> None:
        for number, text in enumerate(self.settings.messages):
            event = Inbound("lines", "chat", "reader", text, ref=str(number))
            await self.runner.receive(event)

    def channel_for(self, event: Inbound) -> Channel:
        return LinesChannel(Path(self.settings.outbox or ""))


def _ready(settings: LinesSettings) -> None:
    if not settings.outbox:
        raise ConfigError("lines needs gateway.lines.outbox: the file the answers go to")


PLATFORM = PlatformPlugin("lines", LinesSettings, LinesAdapter, _ready)
