"""`ConversationStore`: what the surfaces and the agent need from the session store.

It lists exactly the methods they call, with the parameters they pass, so a second storage
backend implements this and nothing more; `SessionDB` is the SQLite one. Callers hold a
`ConversationStore`, never a `SessionDB`, and catch `StoreError` (`hermes_agent.errors`), which
every method raises when the storage fails (damaged, read-only, full, locked); titles raise
`TitleTooLong` and `TitleInUse`, both ValueErrors.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol


class ConversationStore(Protocol):
    """Sessions (one per conversation, linked by compression lineage) and their messages."""

    # -- sessions ----------------------------------------------------------------------------

    def create_session(
        self,
        session_id: str,
        source: str,
        *,
        model: str | None = None,
        user_id: str | None = None,
        parent_session_id: str | None = None,
        delegated_from: str | None = None,
    ) -> str:
        """Record a session unless the id exists; returns the id (the parent must exist).
        `delegated_from`: the session whose delegate_task call runs this one (a sub-agent's
        session, never listed as a conversation of its own)."""

    def end_session(self, session_id: str, end_reason: str) -> bool:
        """End an open session; the first end wins, and True says this call ended it."""

    def reopen_session(self, session_id: str) -> bool:
        """Clear a session's end so it can be continued; False when it does not exist."""

    def delete_session(self, session_id: str) -> bool:
        """Delete a session, its messages and its sub-agents' sessions (other children stay,
        detached); False if unknown."""

    def get_session(self, session_id: str) -> dict[str, Any] | None:
        """The session's row (source, model, title, token and cost totals...), or None."""

    def resolve_session_id(self, id_or_prefix: str) -> str | None:
        """The exact id, else the only id starting with the prefix, else None."""

    def resolve_session_by_title(self, title: str) -> str | None:
        """The newest "title #N" continuation, else the session with exactly that title."""

    def resolve_resume_session_id(self, session_id: str) -> str:
        """For an empty session, its first descendant with messages; otherwise the id."""

    def get_compression_tip(self, session_id: str) -> str | None:
        """The newest continuation reached through compressions (None for an unknown id)."""

    def update_token_counts(
        self,
        session_id: str,
        input_tokens: int = 0,
        output_tokens: int = 0,
        *,
        model: str | None = None,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
        reasoning_tokens: int = 0,
        estimated_cost_usd: float | None = None,
        cost_status: str | None = None,
        api_call_count: int = 0,
    ) -> None:
        """Add one call's tokens, cost and call count to the session's totals."""

    # -- titles ------------------------------------------------------------------------------

    def sanitize_title(self, title: str | None) -> str | None:
        """The title as it would be stored (None when empty); TitleTooLong past the limit."""

    def set_session_title(self, session_id: str, title: str | None) -> bool:
        """Set or clear a title; False when the session has no row; TitleInUse when taken."""

    def get_session_title(self, session_id: str) -> str | None:
        """The session's title, or None."""

    def get_next_title_in_lineage(self, base_title: str) -> str:
        """The title for the next continuation: "X" → "X #2" → "X #3"."""

    # -- messages ----------------------------------------------------------------------------

    def append_message(
        self,
        session_id: str,
        role: str,
        content: Any = None,
        *,
        tool_name: str | None = None,
        tool_calls: Any = None,
        tool_call_id: str | None = None,
        finish_reason: str | None = None,
        reasoning: str | None = None,
    ) -> int:
        """Append one message to an existing session; returns the message id."""

    def replace_messages(self, session_id: str, messages: Iterable[dict[str, Any]]) -> None:
        """Make the session's transcript exactly `messages`, in one transaction."""

    def get_messages(self, session_id: str) -> list[dict[str, Any]]:
        """The stored rows of the transcript (with ids and timestamps), oldest first."""

    def get_messages_as_conversation(
        self, session_id: str, include_ancestors: bool = False, *, with_row_ids: bool = False
    ) -> list[dict[str, Any]]:
        """The transcript as chat messages; with `include_ancestors`, the whole lineage; with
        `with_row_ids`, each message carries its row id under `_row_id`."""

    def message_count(self, session_id: str | None = None) -> int:
        """How many messages the session holds (every session's, for None)."""

    def messages_after(self, session_id: str, row_id: int | None) -> list[dict[str, Any]]:
        """The session's messages recorded after row `row_id` (all of them for None), as chat
        messages each carrying its row id under `_row_id`."""

    def last_message_id(self, session_id: str) -> int | None:
        """The row id of the session's newest message; None when it has none."""

    def delete_messages(self, session_id: str, row_ids: Iterable[int]) -> int:
        """Delete those of these rows that belong to the session or its ancestors (what its
        conversation shows), keeping the counters right; returns how many there were."""

    # -- listing and search ------------------------------------------------------------------

    def list_sessions_rich(
        self,
        source: str | None = None,
        *,
        exclude_sources: Iterable[str] | None = None,
        limit: int = 20,
        order_by_last_active: bool = False,
    ) -> list[dict[str, Any]]:
        """Sidebar rows with `preview` and `last_active`, a compressed chain as its tip."""

    def search_messages(
        self,
        query: str,
        *,
        exclude_sources: Iterable[str] | None = None,
        limit: int = 20,
    ) -> list[dict[str, Any]]:
        """Messages matching any user text, best first, with a snippet and `context`."""

    def export_session(self, session_id: str) -> dict[str, Any] | None:
        """The session's row with its `messages`, or None."""

    def data_version(self) -> int:
        """A number that changes whenever another process commits to the store."""

    def change_mark(self) -> tuple[int, int, int]:
        """A value that changes whenever anything is committed to the store."""
