"""`session_search`: recall of past conversations from every surface, grouped and bounded."""

from __future__ import annotations

from pathlib import Path

import pytest

from hermes_agent import runtime
from hermes_agent.errors import ToolError
from hermes_agent.tools.registry import ToolContext
from hermes_agent.tools.session_search import session_search
from hermes_state import SessionDB


@pytest.fixture
def db(tmp_path, monkeypatch):
    store = SessionDB(db_path=tmp_path / "state.db")
    monkeypatch.setattr(runtime, "state_db", lambda: store)
    yield store
    store.close()


def ctx(session_id: str) -> ToolContext:
    return ToolContext(workspace=Path("."), approval=None, session_id=session_id)


def said(db: SessionDB, sid: str, source: str, title: str, *texts: str) -> None:
    db.create_session(sid, source=source)
    db.set_session_title(sid, title)
    for i, text in enumerate(texts):
        db.append_message(sid, "user" if i % 2 == 0 else "assistant", text)


def test_a_conversation_from_a_chat_app_is_found_from_the_web_with_title_and_passage(db):
    said(db, "tg1", "telegram", "Roof repairs", "We decided on slate tiles for the roof.", "Noted.")
    said(db, "web1", "web", "Today", "What did we decide about the roof tiles?")
    said(db, "cli1", "cli", "Garden", "The garden needs roof-high hedges? no.", "ok")

    found = session_search({"query": "slate tiles"}, ctx("web1"))

    assert found.startswith("1. “Roof repairs” (telegram, ")
    assert ">>>slate<<< >>>tiles<<<" in found or ">>>slate tiles<<<" in found
    assert "Today" not in found, "the conversation asking is left out"


def test_matches_are_grouped_per_conversation_and_bounded(db):
    for n in range(15):
        said(db, f"s{n}", "cli", f"Chat {n}", *[f"kiwi number {i} in chat {n}" for i in range(6)])

    found = session_search({"query": "kiwi", "limit": 50}, ctx("other"))

    assert found.count("\n\n") == 9, "at most ten conversations"
    first = found.split("\n\n")[0]
    assert first.count("\n   - ") == 3, "at most three passages each"
    assert len(found) < 10 * 4 * 400


def test_nothing_found_and_bad_arguments_are_said_plainly(db):
    assert session_search({"query": "zebra"}, ctx("x")) == "No past conversation mentions 'zebra'."
    with pytest.raises(ToolError):
        session_search({"query": "  "}, ctx("x"))
    with pytest.raises(ToolError):
        session_search({"query": "a", "limit": 0}, ctx("x"))
