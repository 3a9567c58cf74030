"""Which Telegram updates are messages for the gateway, and what they say.

- **Private chats** are always talking to the bot.
- **Groups**, with `gateway.telegram.group_mode: mention` (the default): a message is for the
  bot only when it is addressed to it: it mentions the bot (`@username`, found in the
  message's `mention` entities or its text, or a `text_mention` of the bot's user), replies
  to one of the bot's messages, or is a command (below). With `group_mode: all` every group
  message is taken.
- **Commands in groups:** `/cmd@thisbot` is taken, `/cmd@otherbot` never; a bare `/cmd` is
  taken when the gateway knows it, and left to the group's other bots when not.
- The `@username` mention is taken out of the text the model sees.
- **Edits:** an `edited_message` is taken as a new message, by the same rules.
- **Photos and documents** are taken by reference (`InboundFile`: the largest size of a
  photo; a document with its file name), with the caption as their text; in a group the
  caption carries the @mention. The bytes are fetched when the message's turn comes.
- **Other content** (voice, video, stickers, locations, polls...) is taken with its kind
  named in `unsupported`, so the person is told it is not supported yet.

What is not taken is not recorded or answered; the poller still confirms its update, so
Telegram does not send it again. Messages from bots (this one included) are never taken,
nor service messages (someone joined, a pin, a new title), which carry no text or content.
"""

from __future__ import annotations

import re

from telegram import Message, Update, User
from telegram.constants import ChatType, MessageAttachmentType, MessageEntityType

from gateway.commands import NAMES
from gateway.events import DM, GROUP, Command, Inbound, InboundFile

PHOTO_NAME = "photo.jpg"  # Telegram sends every photo as a JPEG, without a name
UNSUPPORTED_KINDS = {
    "animation": "GIFs and animations",
    "audio": "Audio files",
    "contact": "Contacts",
    "dice": "Dice",
    "game": "Games",
    "invoice": "Invoices",
    "live_photo": "Live photos",
    "location": "Locations",
    "paid_media": "Paid media",
    "poll": "Polls",
    "sticker": "Stickers",
    "story": "Stories",
    "venue": "Locations",
    "video": "Videos",
    "video_note": "Video messages",
    "voice": "Voice messages",
}
OTHER_CONTENT = "Messages of this kind"
_TAKEN = {MessageAttachmentType.PHOTO, MessageAttachmentType.DOCUMENT}
# successful_payment is a service message (and PTB warns when it is read as content).
_OTHER_KINDS = tuple(
    kind
    for kind in MessageAttachmentType
    if kind not in _TAKEN and kind != MessageAttachmentType.SUCCESSFUL_PAYMENT
)


def inbound(update: Update, me: User, group_mode: str) -> Inbound | None:
    """The message in `update` as the gateway takes it, or None when it is not for the bot
    (`me`: the bot's own user, from getMe)."""
    message = update.message or update.edited_message
    sender = message.from_user if message is not None else None
    if message is None or sender is None or sender.is_bot:
        return None
    files, unsupported = _content(message)
    said = message.text or message.caption or ""
    if not (said or files or unsupported):
        return None  # a service message
    text = said
    private = message.chat.type == ChatType.PRIVATE
    if not private:
        text = _addressed(message, said, me, group_mode)
        if text is None:
            return None
        if not text and not files:
            text = said  # a lone "@bot" is still something said
    return Inbound(
        "telegram",
        str(message.chat.id),
        str(sender.id),
        text,
        DM if private else GROUP,
        sender.username,
        str(update.update_id),
        str(message.message_id),
        files,
        unsupported,
    )


def _content(message: Message) -> tuple[tuple[InboundFile, ...], str]:
    """The files the gateway takes from the message, and the kind of content it cannot take
    yet (in the plural, for the reply), if any. An animation is also sent as a document,
    for older apps: it counts as an animation."""
    if message.animation:
        return (), UNSUPPORTED_KINDS["animation"]
    if message.photo:
        largest = max(
            message.photo, key=lambda size: (size.width * size.height, size.file_size or 0)
        )
        return (InboundFile("photo", largest.file_id, PHOTO_NAME, largest.file_size),), ""
    if message.document:
        document = message.document
        name = document.file_name or "file"
        return (InboundFile("document", document.file_id, name, document.file_size),), ""
    for kind in _OTHER_KINDS:
        if getattr(message, kind, None):
            return (), UNSUPPORTED_KINDS.get(kind, OTHER_CONTENT)
    return (), ""


def _addressed(message: Message, text: str, me: User, group_mode: str) -> str | None:
    """The text of a group message for the bot (its @mention taken out, which may leave
    nothing), or None."""
    command = Command.parse(text)
    if command is not None:
        target = text[1:].split(maxsplit=1)[0].partition("@")[2]
        if target:
            return text if target.lower() == (me.username or "").lower() else None
        return text if command.name in NAMES else None
    mentioned = _mentions(message, text, me)
    if mentioned:
        return _without_mention(text, me.username or "")
    replied = message.reply_to_message
    to_bot = replied is not None and replied.from_user is not None and replied.from_user.id == me.id
    return text if to_bot or group_mode == "all" else None


def _mentions(message: Message, text: str, me: User) -> bool:
    """Whether the message mentions the bot: by a mention entity, or its @username in the text."""
    kinds = [MessageEntityType.MENTION, MessageEntityType.TEXT_MENTION]
    found = message.parse_entities(kinds) if message.text else message.parse_caption_entities(kinds)
    username = (me.username or "").lower()
    for entity, shown in found.items():
        if entity.type == MessageEntityType.TEXT_MENTION and entity.user is not None:
            if entity.user.id == me.id:
                return True
        elif username and shown[1:].lower() == username:
            return True
    return bool(username) and _mention_pattern(username).search(text) is not None


def _without_mention(text: str, username: str) -> str:
    """The text without the bot's `@username`: `Hey @bot, what is…` → `Hey, what is…`."""
    return _mention_pattern(username, leading_space=True).sub("", text).strip()


def _mention_pattern(username: str, *, leading_space: bool = False) -> re.Pattern[str]:
    space = r"\s*" if leading_space else ""
    return re.compile(rf"{space}(?<![\w@])@{re.escape(username)}(?!\w)", re.IGNORECASE)
