"""The contract between the runner and a chat platform.

An `Adapter` receives messages from its platform and hands them to the runner
(`GatewayRunner.receive`, or `accept` for a batch it must not lose); for each one the runner
asks it for a `Channel`: where everything said about that message goes. A channel's
`answer()` is one streamed answer: the runner feeds it the model's text as it comes and
closes it with the final text. Files that came with a message are fetched with
`Adapter.download` when the message's turn comes. All of it runs on the runner's event
loop.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from gateway.events import Inbound, InboundFile
from hermes_agent.errors import HermesError

log = logging.getLogger(__name__)


class FileUnavailable(HermesError):
    """The platform would not give the bytes of a file (gone, refused, unreachable); the
    message says why."""


async def quietly(awaitable: Awaitable[Any]) -> None:
    """Send what can be sent: a platform failing to take one reply (after the adapter's own
    retries) is logged, and must not stop the conversation's bookkeeping."""
    try:
        await awaitable
    except Exception:
        log.warning("a platform call failed", exc_info=True)


class Answer(ABC):
    """One answer being written. `placed`, when set, is called with the platform's id of
    each message the answer is shown in, so a restart can point at an answer it cut off."""

    placed: Callable[[str], None] | None = None

    @abstractmethod
    def feed(self, delta: str) -> None:
        """More of the answer's text (called on the loop, as the model streams)."""

    def paragraph(self) -> None:
        """A tool is about to run: what the model writes next starts a new paragraph."""
        return None

    @abstractmethod
    async def close(self, final: str | None, notice: str | None) -> None:
        """The turn ended: show `final` as the answer (None keeps what was streamed), then
        `notice` (an error, "stopped") as a message of its own."""


class Channel(ABC):
    """Where the replies to one inbound message go."""

    @abstractmethod
    async def send(self, text: str) -> None:
        """A complete message (Markdown): a command's reply or a notice."""

    @abstractmethod
    def answer(self) -> Answer: ...

    async def typing(self) -> None:
        """Show that work is under way (called every few seconds during a turn)."""
        return None

    async def ask_approval(self, item: Any) -> None:
        """Ask the person about `item` (a `PendingApproval`), for platforms that can."""
        return None

    async def approval_closed(self, item: Any, choice: str) -> None:
        """The question about `item` was settled (answered, stopped or timed out)."""
        return None

    async def cut_off(self, message_ref: str, notice: str) -> None:
        """Say that the answer shown in `message_ref` was cut off (by a restart)."""
        await self.send(notice)

    async def dropped(self, reason: str) -> None:
        """The message will not be answered (/stop, shutdown); `reason` says why."""
        return None

    async def done(self) -> None:
        """Everything about this message has been said."""
        return None


class Adapter(ABC):
    """One platform. `can_ask_approval`: whether a person can answer an approval there;
    `max_file_bytes`: the largest file it lets the gateway download (None: no limit of its
    own)."""

    name: ClassVar[str]
    can_ask_approval: ClassVar[bool] = False
    durable: ClassVar[bool] = False
    max_file_bytes: ClassVar[int | None] = None

    @abstractmethod
    async def start(self) -> None:
        """Connect and begin receiving."""

    async def stop_receiving(self) -> None:
        """Take no new messages (shutdown has begun; replies still go out)."""
        return None

    async def close(self) -> None:
        """Release connections; nothing is sent after this."""
        return None

    @abstractmethod
    def channel_for(self, event: Inbound) -> Channel:
        """The channel to answer `event` in (also for messages recovered after a restart)."""

    async def download(self, file: InboundFile) -> bytes:
        """The bytes of a file that came with a message. Raises `FileUnavailable` when the
        platform will not give them, `PayloadTooLarge` when they are over its limit."""
        raise FileUnavailable(f"{self.name} messages cannot carry files")
