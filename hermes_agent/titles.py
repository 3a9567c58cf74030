"""Session titles: asked of the model after a first turn, with a local fallback."""

from __future__ import annotations

import logging
import re
import threading
from typing import TYPE_CHECKING

from hermes_agent.errors import ProviderError
from hermes_agent.providers.base import ChatRequest, Provider, complete

if TYPE_CHECKING:
    from hermes_state import ConversationStore

log = logging.getLogger(__name__)

TITLE_MAX = 60
TITLE_PROMPT = (
    "Write a title of at most six words for this conversation. Reply with the title only: "
    "no quotes, no punctuation at the end."
)
THINKING = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
NOT_A_TITLE = re.compile(r"^(the user|i should|i will|let me|okay|ok\b|sure\b|title\b)", re.I)


def generate_title(provider: Provider, model: str, user_text: str, answer: str) -> str | None:
    """A short title from the model, or None when it gives nothing usable."""
    request = ChatRequest(
        model=model,
        messages=[
            {"role": "system", "content": TITLE_PROMPT},
            {"role": "user", "content": f"User: {user_text[:1000]}\n\nAssistant: {answer[:1000]}"},
        ],
        max_tokens=24,
        temperature=0.1,
    )
    try:
        raw = complete(provider, request, threading.Event()).text
    except ProviderError as exc:
        log.info("title request failed (%s); using the first words instead", exc)
        return None
    return clean_title(raw)


def clean_title(raw: str) -> str | None:
    text = THINKING.sub("", raw).strip().splitlines()[0] if raw.strip() else ""
    text = re.sub(r"^(title\s*:\s*)", "", text, flags=re.IGNORECASE).strip(" \"'*#`.")
    text = " ".join(text.split())
    if not text or NOT_A_TITLE.match(text) or len(text) > TITLE_MAX * 2:
        return None
    return text[:TITLE_MAX]


def local_title(text: str) -> str | None:
    """The first line of the user's message, cut at a word boundary."""
    line = " ".join(str(text).strip().splitlines()[0].split()) if str(text).strip() else ""
    if not line:
        return None
    if len(line) <= TITLE_MAX:
        return line
    cut = line[:TITLE_MAX].rsplit(" ", 1)[0] or line[:TITLE_MAX]
    return cut + "…"


def title_session(db: ConversationStore, session_id: str, first_message: str) -> str | None:
    """Give an untitled session a title; a taken title gets the next `#N` in its lineage."""
    if db.get_session_title(session_id):
        return None
    title = local_title(first_message)
    if not title:
        return None
    try:
        db.set_session_title(session_id, title)
    except ValueError:
        title = db.get_next_title_in_lineage(title)
        try:
            db.set_session_title(session_id, title)
        except ValueError:
            return None
    return title
