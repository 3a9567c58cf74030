"""Attached files, turned into what a model can take, just before each request.

A message refers to a file by a part `{"type": "attachment", "attachment": {id, filename,
mime, ...}}`: the history and state.db keep the reference, never the bytes. Before a request
each such part becomes parts in the OpenAI chat format every provider translates from:
- an image: an `image_url` part with a data URL, for a model that sees images; for one that
  does not, a short note saying so (never an API error);
- text, Markdown, code, CSV, JSON: the text itself, up to `TEXT_CHARS`, with the cut stated;
- a PDF: its extracted text (pypdf), with the page count and any cut stated;
- anything else: a note naming the file, its type and size.
Each names the file as `attachment:<id>`, the path the file tools read it by (and
`save_attachment` copies it into the workspace by).
"""

from __future__ import annotations

import base64
import functools
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hermes_agent.attachments import Attachment, AttachmentStore
from hermes_agent.errors import NotFound
from hermes_agent.file_types import PDF

log = logging.getLogger(__name__)

TEXT_CHARS = 100_000
INDEXED_CHARS = 20_000  # of a file's text, kept with the message for search
PDF_PAGES = 200
ATTACHMENT = "attachment"


def user_content(text: str, attachments: list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    """A user message's content: its text, and a part for each stored file it carries."""
    stored = [a for a in attachments if isinstance(a, dict) and "id" in a]
    if not stored:
        return text
    # A part's `text` is what search finds it by (state.db's index takes every part's `text`):
    # the file's name, and the start of what can be read of it.
    parts = ({"type": ATTACHMENT, ATTACHMENT: a, "text": _searchable(a)} for a in stored)
    return [{"type": "text", "text": text}, *parts]


def _searchable(described: dict[str, Any]) -> str:
    from hermes_agent.runtime import attachment_store

    name = str(described.get("filename", ""))
    store = attachment_store()
    try:
        found = store.get(str(described.get("id", "")))
    except NotFound:
        return name
    if found.mime == PDF:
        body = _pdf_text(store.path(found.id), found)
    elif found.mime.startswith("text/") or found.mime == "application/json":
        body = _file_text(store.path(found.id), found)
    else:
        return name
    return f"{name}\n{body.split(chr(10), 1)[-1][:INDEXED_CHARS]}"


def described_files(message: Any) -> list[dict[str, Any]]:
    """The descriptions of the files a message carries: the page's `attachments` and the
    model's attachment parts (the same files, described twice)."""
    if not isinstance(message, dict):
        return []
    shown = [a for a in message.get("attachments") or () if isinstance(a, dict)]
    content = message.get("content")
    parts = content if isinstance(content, list) else ()
    given = [p.get(ATTACHMENT) for p in parts if _is_attachment(p)]
    return shown + [a for a in given if isinstance(a, dict)]


def carried_ids(messages: Iterable[Any]) -> list[str]:
    """The ids of the stored files the messages carry, each once, in order."""
    found = {
        a["id"]: None for m in messages for a in described_files(m) if isinstance(a.get("id"), str)
    }
    return list(found)


def keep_files_for(store: AttachmentStore, session_id: str, messages: Iterable[Any]) -> bool:
    """The files the messages carry now live as long as conversation `session_id` too;
    whether that is recorded.

    Called once the conversation is stored, so a failure is logged, not raised: the
    conversation stands, and at worst a file goes with the last other conversation carrying it.
    """
    ids = carried_ids(messages)
    if not ids:
        return True
    try:
        store.refer(session_id, ids)
    except OSError as exc:
        log.warning("could not record the files of session %s: %s", session_id, exc)
        return False
    return True


def expand(
    messages: list[dict[str, Any]], store: AttachmentStore, *, sees_images: bool
) -> list[dict[str, Any]]:
    """`messages` with every attachment part replaced by what the model can read."""
    out = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list) and any(_is_attachment(p) for p in content):
            parts = [q for p in content for q in _expanded(p, store, sees_images)]
            out.append({**message, "content": parts})
        else:
            out.append(message)
    return out


def _is_attachment(part: Any) -> bool:
    return isinstance(part, dict) and part.get("type") == ATTACHMENT


def _expanded(part: Any, store: AttachmentStore, sees_images: bool) -> list[dict[str, Any]]:
    if not _is_attachment(part):
        return [part]
    given = part.get(ATTACHMENT) or {}
    name = str(given.get("filename") or "file")
    try:
        found = store.get(str(given.get("id", "")))
    except NotFound:
        return [_text(f"[Attached file {name} is no longer available.]")]
    if found.is_image:
        return _picture(store, found, sees_images)
    if found.mime == PDF:
        return [_text(_pdf_text(store.path(found.id), found))]
    if found.mime.startswith("text/") or found.mime == "application/json":
        return [_text(_file_text(store.path(found.id), found))]
    return [_text(f"[Attached file {name} ({found.mime}, {found.size} bytes, {_ref(found)})]")]


def _picture(store: AttachmentStore, found: Attachment, sees_images: bool) -> list[dict]:
    if not sees_images:
        return [_text(_unseen(found))]
    return [_text(f"[Image attached: {found.filename} ({_ref(found)})]"), _image(store, found)]


def _ref(found: Attachment) -> str:
    """How the file tools name it: `read_file` reads text there, `save_attachment` copies it."""
    return f"attachment:{found.id}"


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def _image(store: AttachmentStore, found: Attachment) -> dict[str, Any]:
    data = base64.b64encode(store.path(found.id).read_bytes()).decode("ascii")
    return {"type": "image_url", "image_url": {"url": f"data:{found.mime};base64,{data}"}}


def _unseen(found: Attachment) -> str:
    return (
        f"[Image attached: {found.filename}, {found.width}×{found.height} ({_ref(found)}). The "
        "current model cannot see images, so its content is unknown to you; say so if it "
        "matters.]"
    )


# A file's id is the hash of its bytes, so what was read of it never changes: the history
# sends every attachment again with each turn, and a PDF is parsed once, not every turn.
@functools.lru_cache(maxsize=64)
def _file_text(path: Path, found: Attachment) -> str:
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read(TEXT_CHARS + 1)
    cut = len(text) > TEXT_CHARS
    note = f" (cut at {TEXT_CHARS:,} characters)" if cut else ""
    heading = f"Attached file {found.filename} ({_ref(found)}){note}"
    return _enclosed(heading, text[:TEXT_CHARS], found)


@functools.lru_cache(maxsize=64)
def _pdf_text(path: Path, found: Attachment) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        pages = len(reader.pages)
        text = "\n\n".join((page.extract_text() or "").strip() for page in reader.pages[:PDF_PAGES])
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        log.warning("could not read PDF %s: %s", found.filename, exc)
        return f"[Attached PDF {found.filename}: its text could not be read ({exc}).]"
    notes = [f"{pages} page{'s' if pages != 1 else ''}"]
    if pages > PDF_PAGES:
        notes.append(f"text of the first {PDF_PAGES} only")
    if len(text) > TEXT_CHARS:
        text, notes = text[:TEXT_CHARS], [*notes, f"cut at {TEXT_CHARS:,} characters"]
    if not text.strip():
        notes.append("no text layer: it may be scanned images")
    heading = f"Attached PDF {found.filename} ({_ref(found)}), {', '.join(notes)}"
    return _enclosed(heading, text, found)


def _enclosed(heading: str, body: str, found: Attachment) -> str:
    return f"[{heading}:]\n{body}\n[End of {found.filename}]"
