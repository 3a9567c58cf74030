"""What arrives from a chat platform, and the conversation it belongs to."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

DM = "dm"
GROUP = "group"


@dataclass(frozen=True)
class InboundFile:
    """A file that came with a message, by reference: the platform keeps the bytes until the
    message's turn fetches them (`Adapter.download`), so an inbox stays small.

    `kind` is "photo" or "document"; `file_id` is the platform's handle to download it by;
    `file_size` is what the platform announced (None when it did not say).
    """

    kind: str
    file_id: str
    file_name: str
    file_size: int | None = None


@dataclass(frozen=True)
class Inbound:
    """One message from a person, as every platform adapter reports it.

    `ref` is the platform's id for what arrived (Telegram: the update id), unique within the
    platform; `message_id` is the message's own id in its chat, which replies point at (""
    where the platform has none, and in inboxes written before it was kept); `chat_type` is
    "dm" for a private chat, "group" for anything shared. `files` are the photos and
    documents it carries (`text` is then their caption, maybe empty); `unsupported` names, in
    the plural, content the gateway cannot take yet ("Voice messages"), which is answered
    with a reply saying so.
    """

    platform: str
    chat_id: str
    user_id: str
    text: str
    chat_type: str = DM
    user_name: str | None = None
    ref: str = ""
    message_id: str = ""
    files: tuple[InboundFile, ...] = ()
    unsupported: str = ""

    @property
    def session_key(self) -> str:
        """One conversation per private chat, and per member of a group chat, so people in
        a group never share (or see) each other's context."""
        key = f"agent:main:{self.platform}:{self.chat_type}:{self.chat_id}"
        return key if self.chat_type == DM else f"{key}:{self.user_id}"

    @property
    def inbox_id(self) -> str:
        return f"{self.platform}:{self.ref}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Inbound:
        """Fields left out (by an older gateway) take their defaults."""
        fields = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        fields["files"] = tuple(
            InboundFile(**{k: f[k] for k in InboundFile.__dataclass_fields__ if k in f})
            for f in fields.get("files") or ()
        )
        return cls(**fields)


@dataclass(frozen=True)
class Command:
    """A slash command: `/title My trip` → name "title", argument "My trip"."""

    name: str
    argument: str

    @classmethod
    def parse(cls, text: str) -> Command | None:
        """The command in `text`, if it starts with one. Telegram's `/cmd@botname` form is
        understood too."""
        parts = text[1:].split(maxsplit=1) if text.startswith("/") else []
        if not parts:
            return None
        name = parts[0].split("@", 1)[0].lower()
        if not name.isidentifier():
            return None
        return cls(name, parts[1].strip() if len(parts) > 1 else "")
