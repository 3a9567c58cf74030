"""The slash commands every platform understands.

They run in the conversation's turn order (after the messages sent before them), except
/stop, which the runner handles at once. Work on the store or the model runs in a worker
thread; the reply is one message. `LISTED` is the list /help shows and platforms put in
their command menus (Telegram's "/" menu).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gateway.events import GROUP, Command
from gateway.platforms.base import Channel
from hermes_agent import history
from hermes_agent.errors import BadRequest, NotFound
from hermes_agent.tools.skill_tools import invokes_skill
from hermes_state.messages import content_text

if TYPE_CHECKING:
    from gateway.chats import Chat
    from gateway.run import GatewayRunner
    from hermes_state import ConversationStore


@dataclass(frozen=True)
class Listed:
    """A command as /help and a platform's command menu show it."""

    name: str
    arguments: str
    summary: str
    alias: str = ""

    @property
    def description(self) -> str:
        """One line for a command menu (Telegram's "/" menu: at most 256 characters)."""
        return self.summary[:1].upper() + self.summary[1:] + self._also

    def help_line(self) -> str:
        usage = f"/{self.name} {self.arguments}".rstrip()
        return f"{usage} — {self.summary}{self._also}"

    @property
    def _also(self) -> str:
        return f" (also /{self.alias})" if self.alias else ""


LISTED = (
    Listed("new", "", "start a new conversation", alias="reset"),
    Listed("retry", "", "send your last message again"),
    Listed("undo", "", "remove your last message and its answer"),
    Listed("stop", "", "stop the answer being written, and drop waiting messages"),
    Listed("branch", "", "go on in a copy of this conversation; the original is kept"),
    Listed("compact", "", "summarise the conversation so far, to free context"),
    Listed("title", "TEXT", "name this conversation (/title alone shows the name)"),
    Listed("usage", "", "tokens, cost and context used"),
    Listed("memory", "", "what the agent remembers (private chats only)"),
    Listed("tools", "", "the agent's tools and MCP servers"),
    Listed(
        "cron",
        "[add SCHEDULE | PROMPT]",
        "scheduled jobs: list, add, pause, resume, remove or run one (private chats only)",
    ),
    Listed("model", "[NAME]", "show the model, or switch this conversation to another"),
    Listed(
        "resume", "TITLE", "continue a conversation from the web UI, the terminal or another chat"
    ),
    Listed("help", "", "list the commands"),
)
HELP = "**Commands**\n" + "\n".join(item.help_line() for item in LISTED)
NO_STORE = "The session store is unavailable, so this cannot be done right now."
RECENT = 5
PREVIEW = 60

Handler = Callable[["GatewayRunner", "Chat", str, Channel], Awaitable[None]]


async def run(runner: GatewayRunner, chat: Chat, command: Command, channel: Channel) -> None:
    handler = HANDLERS.get(command.name)
    if handler is None and invokes_skill(f"/{command.name}"):
        # `/<skill> [request]`: the turn gets the skill's instructions (see hermes_agent.skills)
        await runner.answer(chat, f"/{command.name} {command.argument}".strip(), channel)
        return
    if handler is None:
        await channel.send(f"Unknown command /{command.name}. /help lists the commands.")
        return
    needs_store = command.name in NEEDS_STORE
    if needs_store and chat.services.db is None:
        await channel.send(NO_STORE)
        return
    await handler(runner, chat, command.argument, channel)


async def _help(runner: GatewayRunner, chat: Chat, arg: str, channel: Channel) -> None:
    await channel.send(HELP)


async def _new(runner: GatewayRunner, chat: Chat, arg: str, channel: Channel) -> None:
    await asyncio.to_thread(chat.reset_blocking)
    await channel.send("✨ New conversation. The last one is kept: /resume brings it back.")


async def _retry(runner: GatewayRunner, chat: Chat, arg: str, channel: Channel) -> None:
    content = await asyncio.to_thread(chat.undo_blocking)  # with its files, if it had any
    if content is None:
        await channel.send("Nothing to retry yet.")
        return
    await runner.answer(chat, content, channel)


async def _undo(runner: GatewayRunner, chat: Chat, arg: str, channel: Channel) -> None:
    content = await asyncio.to_thread(chat.undo_blocking)
    if content is None:
        await channel.send("Nothing to undo.")
        return
    text = _preview(content_text(content))
    await channel.send(f"↩️ Removed your last message and its answer: “{text}”")


async def _branch(runner: GatewayRunner, chat: Chat, arg: str, channel: Channel) -> None:
    outcome = await asyncio.to_thread(chat.branch_blocking)
    if outcome is None:
        await channel.send("Nothing to branch yet: send a message first.")
        return
    title, copied = outcome
    named = f"“{title}”" if title else "a copy"
    await channel.send(
        f"🌿 Branched: {copied} messages copied into {named}; the conversation goes on there. "
        "The original is kept: /resume brings it back."
    )


async def _compact(runner: GatewayRunner, chat: Chat, arg: str, channel: Channel) -> None:
    outcome = await asyncio.to_thread(chat.compress_blocking)
    stopped = chat.take_stop_notice()
    if stopped:
        await channel.send(stopped)
        return
    if outcome is None:
        await channel.send("Nothing to compress: the conversation is still short.")
        return
    before, after = outcome
    await channel.send(f"🗜 Compressed the conversation: {before} messages → {after}.")


async def _title(runner: GatewayRunner, chat: Chat, arg: str, channel: Channel) -> None:
    db = chat.services.db
    if not arg:
        title = await asyncio.to_thread(db.get_session_title, chat.session_id)
        await channel.send(f"Title: {title}" if title else "This conversation has no title yet.")
        return
    try:
        title = await asyncio.to_thread(chat.set_title_blocking, arg)
    except ValueError as exc:
        await channel.send(f"Could not set the title: {exc}")
        return
    await channel.send(f"🏷 Title set: {title}")


async def _usage(runner: GatewayRunner, chat: Chat, arg: str, channel: Channel) -> None:
    found = await asyncio.to_thread(chat.usage_blocking)
    await channel.send(format_usage(chat, found["row"], found["usage"]))


async def _memory(runner: GatewayRunner, chat: Chat, arg: str, channel: Channel) -> None:
    """Memory holds what the agent learnt of its owner: never shown to a group."""
    if f":{GROUP}:" in chat.key:
        await channel.send("Your memory is private: ask for /memory in a private chat.")
        return
    from hermes_agent.tools.memory_tool import memory_store

    store = memory_store()
    await channel.send("\n\n".join(store.state(t) for t in ("memory", "user")))


async def _tools(runner: GatewayRunner, chat: Chat, arg: str, channel: Channel) -> None:
    from hermes_agent.mcp_client import shared_hub
    from hermes_agent.mcp_client.summary import tools_summary
    from hermes_agent.runtime import current_settings

    text = await asyncio.to_thread(tools_summary, current_settings(), shared_hub())
    await channel.send(text)


CRON_PRIVATE = "Scheduled jobs are managed in a private chat."


async def _cron(runner: GatewayRunner, chat: Chat, arg: str, channel: Channel) -> None:
    """Jobs act for the owner and deliver to their chats: never managed from a group."""
    if f":{GROUP}:" in chat.key:
        await channel.send(CRON_PRIVATE)
        return
    try:
        text = await asyncio.to_thread(_cron_blocking, chat, arg)
    except (BadRequest, NotFound) as exc:
        text = f"⚠️ {exc}"
    await channel.send(text)


def _cron_blocking(chat: Chat, arg: str) -> str:
    from hermes_agent.runtime import current_settings, state_db
    from hermes_cron.manage import manage, parse

    db = state_db()
    if db is None:
        return NO_STORE
    here = _delivery_here(chat)
    return manage(
        db,
        parse(arg),
        deliver=here,
        origin=chat.platform,
        timezone=current_settings().timezone,
        here=here,
    )


def _delivery_here(chat: Chat) -> str:
    """Where a job made in this chat delivers: this Telegram chat, or else the web UI."""
    parts = chat.key.split(":")  # agent:main:<platform>:dm:<chat id> (Inbound.session_key)
    if chat.platform == "telegram" and len(parts) == 5:
        return f"telegram:{parts[4]}"
    return "web"


def format_usage(chat: Chat, row: dict[str, Any], usage: dict[str, Any]) -> str:
    """The stored session's totals (every turn, whichever surface ran it) and the context
    the model saw last."""
    tokens_in = int(row.get("input_tokens") or 0)
    tokens_out = int(row.get("output_tokens") or 0)
    cost = row.get("estimated_cost_usd")
    lines = [
        "**Usage of this conversation**",
        f"Model: {chat.model}",
        f"Tokens: {tokens_in:,} in, {tokens_out:,} out ({tokens_in + tokens_out:,} total)",
        f"Model calls: {int(row.get('api_call_count') or 0)}",
        f"Messages: {int(row.get('message_count') or 0)}",
        f"Cost: ${cost:.4f}" if cost else "Cost: unknown or free",
    ]
    if usage.get("context_max"):
        lines.append(
            f"Context: {usage['context_used']:,} of {usage['context_max']:,} tokens "
            f"({usage['context_percent']}%)"
        )
    return "\n".join(lines)


async def _model(runner: GatewayRunner, chat: Chat, arg: str, channel: Channel) -> None:
    if not arg:
        await channel.send(f"Model: {chat.model}. /model NAME switches this conversation.")
        return
    chat.switch_model(arg.split(maxsplit=1)[0])
    await channel.send(f"Model switched to {chat.model} for this conversation.")


async def _resume(runner: GatewayRunner, chat: Chat, arg: str, channel: Channel) -> None:
    db = chat.services.db
    if not arg:
        await channel.send(await asyncio.to_thread(_recent, db))
        return
    try:
        target = await asyncio.to_thread(history.resume_target, db, arg)
    except NotFound:
        await channel.send(f"No conversation matches “{_preview(arg)}”. /resume lists recent ones.")
        return
    if target == chat.session_id:
        await channel.send("This is already that conversation.")
        return
    if runner.holder_of(target) not in (None, chat.key):
        await channel.send("That conversation is open in another chat here; /new there first.")
        return
    messages = await asyncio.to_thread(chat.resume_blocking, target)
    title = await asyncio.to_thread(db.get_session_title, target)
    lines = [f"▶️ Resumed “{title or target}” ({len(messages)} messages)."]
    last = next((m for m in reversed(messages) if m.get("role") == "assistant"), None)
    if last and isinstance(last.get("content"), str) and last["content"].strip():
        lines.append(f"Last answer: {_preview(last['content'])}")
    await channel.send("\n".join(lines))


def _recent(db: ConversationStore) -> str:
    rows = db.list_sessions_rich(limit=RECENT, order_by_last_active=True)
    named = [row.get("title") or row.get("preview") or row["id"] for row in rows]
    if not named:
        return "Usage: /resume TITLE (or a session id). There are no conversations yet."
    listing = "\n".join(f"• {_preview(name)}" for name in named)
    return f"Usage: /resume TITLE (or a session id). Recent conversations:\n{listing}"


def _preview(text: str) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= PREVIEW else flat[: PREVIEW - 1] + "…"


HANDLERS: dict[str, Handler] = {
    "help": _help,
    "start": _help,
    "new": _new,
    "reset": _new,
    "retry": _retry,
    "undo": _undo,
    "branch": _branch,
    "compact": _compact,
    "compress": _compact,
    "title": _title,
    "usage": _usage,
    "memory": _memory,
    "tools": _tools,
    "cron": _cron,
    "model": _model,
    "resume": _resume,
}
NEEDS_STORE = frozenset({"title", "resume", "cron", "branch"})
NAMES = frozenset({*HANDLERS, "stop"})  # every command understood ("stop": by the runner)
