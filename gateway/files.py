"""Files people send in chats, taken into the attachment store when their turn comes.

A platform reports a file by reference (`InboundFile`: its id on the platform, name and
size), so the inbox stays small and a restart keeps it; the bytes are fetched
(`Adapter.download`) only when the message's turn begins, and kept once in the attachment
store (`hermes_agent.attachments`), which every surface shares. The model gets the message
as its text plus a part per file (`hermes_agent.attachment_content`), and state.db records
those parts: references, never the bytes. The conversation is recorded as referring to its
files (`keep_files_for`), so they live as long as it does.

A file over the platform's download limit or the store's, or one the platform will not
give, is refused with a reply saying so, and the turn does not run: a message is never
answered as if its file had been seen.
"""

from __future__ import annotations

import asyncio
import logging
import math
from typing import Any

from gateway.events import Inbound, InboundFile
from gateway.platforms.base import Adapter, FileUnavailable
from hermes_agent.attachment_content import user_content
from hermes_agent.attachments import Attachment, AttachmentStore
from hermes_agent.errors import BadRequest, HermesError, PayloadTooLarge

log = logging.getLogger(__name__)

MB = 1024 * 1024
ALONE = {"photo": "(photo)"}  # the text of files sent without a caption
ALONE_OTHER = "(file)"
TOO_LARGE = "“{name}” is too large{size}: files of up to {limit} MB can be read here."
UNREADABLE = "Could not take “{name}”: {reason}."
UNAVAILABLE = "Could not fetch “{name}”: {reason}. Try sending it again."


class FileRefused(HermesError):
    """A file of the message cannot be taken; the message is the reply to send."""


def turn_text(event: Inbound) -> str:
    """What the person said: the text, or a short note for files sent without a caption
    (a model is better told that a photo came alone than sent no text at all)."""
    if event.text.strip() or not event.files:
        return event.text
    kinds = {file.kind for file in event.files}
    return ALONE.get(kinds.pop(), ALONE_OTHER) if len(kinds) == 1 else ALONE_OTHER


async def turn_content(
    adapter: Adapter, store: AttachmentStore, event: Inbound
) -> str | list[dict[str, Any]]:
    """The message as the model gets it: its text, and a part per file, fetched from the
    platform and stored now. Raises `FileRefused` when a file cannot be taken."""
    text = turn_text(event)
    if not event.files:
        return text
    limit = min(adapter.max_file_bytes or store.max_bytes, store.max_bytes)
    stored = [await _fetch(adapter, store, file, limit) for file in event.files]
    return user_content(text, [attachment.public() for attachment in stored])


async def _fetch(
    adapter: Adapter, store: AttachmentStore, file: InboundFile, limit: int
) -> Attachment:
    if file.file_size is not None and file.file_size > limit:
        raise FileRefused(_too_large(file, limit))  # known before a byte is fetched
    try:
        data = await adapter.download(file)
        if len(data) > limit:
            raise PayloadTooLarge("over the limit")
        return await asyncio.to_thread(store.add_bytes, data, file.file_name)
    except PayloadTooLarge:
        raise FileRefused(_too_large(file, limit)) from None
    except BadRequest as exc:  # empty, or an image that decompresses to too many pixels
        raise FileRefused(UNREADABLE.format(name=file.file_name, reason=exc)) from None
    except FileUnavailable as exc:
        log.warning("could not download %s (%s): %s", file.file_name, file.kind, exc)
        raise FileRefused(UNAVAILABLE.format(name=file.file_name, reason=exc)) from None


def _too_large(file: InboundFile, limit: int) -> str:
    shown = math.ceil(file.file_size * 10 / MB) / 10 if file.file_size else 0  # 20.01 → 20.1
    size = f" ({shown:.1f} MB)" if shown else ""
    return TOO_LARGE.format(name=file.file_name, size=size, limit=limit // MB)
