"""What the agent knows at the start of every conversation: its memory and its skills.

Both go into the system prompt as a snapshot taken when the conversation starts and kept for
all its turns (also across a restart: it is stored with the conversation in state.db), so the
prompt's prefix stays the same and providers can cache it; a memory written or a skill saved
shows from the next conversation on. Skills are listed by name and description only: the
agent loads a body with `skill_view` when a task calls for it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from hermes_agent.errors import StoreError
from hermes_agent.memory import MemoryStore
from hermes_agent.skills import SkillLibrary, prompt_index

log = logging.getLogger(__name__)

MEMORY_HEADING = (
    "# What you remember\nYour notes from earlier conversations (change them with the memory "
    "tool; changes show from the next conversation):\n\n"
)
SKILLS_HEADING = (
    "# Skills\nSaved procedures. Before a task one of them covers, load it with "
    "skill_view(name) and follow it. After a task that took many steps and will come again, "
    "save what worked with skill_manage.\n"
)


@dataclass(frozen=True)
class StandingContext:
    memory: MemoryStore | None = None
    skills: SkillLibrary | None = None

    def block(self, store: Any, session_id: str) -> str:
        """The conversation's snapshot: the one stored with it, else taken now and stored."""
        row = _row(store, session_id)
        if row and row.get("system_prompt") is not None:
            return row["system_prompt"]
        text = self.snapshot()
        if store is not None and hasattr(store, "update_system_prompt"):
            try:
                store.update_system_prompt(session_id, text)
            except StoreError as exc:
                log.warning("the conversation's memory snapshot was not stored: %s", exc)
        return text

    def snapshot(self) -> str:
        parts = []
        remembered = self.memory.snapshot() if self.memory else ""
        if remembered:
            parts.append(MEMORY_HEADING + remembered)
        index = prompt_index(self.skills.summaries()) if self.skills else ""
        if index:
            parts.append(SKILLS_HEADING + index)
        return "\n\n".join(parts)


def _row(store: Any, session_id: str) -> dict | None:
    if store is None:
        return None
    try:
        return store.get_session(session_id)
    except StoreError as exc:
        log.warning("could not read the conversation's memory snapshot: %s", exc)
        return None
