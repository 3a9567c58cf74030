"""Session titles made locally from the first message, with no model call."""

from __future__ import annotations

TITLE_MAX = 60


def local_title(text: str) -> str | None:
    """The first line of the user's message, cut at a word boundary."""
    line = " ".join(str(text).strip().splitlines()[0].split()) if str(text).strip() else ""
    if not line:
        return None
    if len(line) <= TITLE_MAX:
        return line
    cut = line[:TITLE_MAX].rsplit(" ", 1)[0] or line[:TITLE_MAX]
    return cut + "…"


def title_session(db, session_id: str, first_message: str) -> str | None:
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
