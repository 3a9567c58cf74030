"""`hermes chat "..."`: one turn with the configured provider, streamed to stdout and
recorded in state.db (source `cli`), so it can be found and continued from any surface."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hermes_agent.errors import BadRequest
from hermes_agent.history import find_session

if TYPE_CHECKING:
    from hermes_state import ConversationStore


def add_parser(commands: argparse._SubParsersAction) -> None:
    chat = commands.add_parser(
        "chat",
        help="send one message and stream the answer",
        description="Send one message to the agent and stream its answer. Tools work in the "
        "current directory; commands outside the allowlist ask for approval when run in a "
        "terminal, and are refused otherwise.",
    )
    chat.add_argument("message", help="the message; '-' reads it from standard input")
    chat.add_argument("--session", help="continue a session (id, unique id prefix or title)")
    chat.add_argument("--model", help="use this model instead of the configured one")
    chat.add_argument("--system", help="a system prompt for this turn")
    chat.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from hermes_agent import AIAgent
    from hermes_agent.settings import load_settings
    from hermes_agent.titles import title_session
    from hermes_state import SessionDB

    text = sys.stdin.read() if args.message == "-" else args.message
    if not text.strip():
        raise BadRequest("the message is empty")
    settings = load_settings()
    if args.model:
        settings = settings.model_copy(update={"model": args.model})
    db: ConversationStore = SessionDB()
    session_id, history = _continuation(db, args.session)
    printer = _Printer()
    agent = AIAgent.from_settings(
        settings,
        session_db=db,
        session_id=session_id,
        platform="cli",
        workspace=Path.cwd(),
        stream_delta_callback=printer.text,
        tool_progress_callback=printer.tool,
        approval_callback=_ask_approval if sys.stdin.isatty() else None,
    )
    try:
        result = agent.run_conversation(
            text, system_message=args.system, conversation_history=history
        )
    except KeyboardInterrupt:
        agent.interrupt()
        print("\n[interrupted]", file=sys.stderr)
        return 130
    finally:
        db.end_session(agent.session_id, "cli_exit")
    printer.finish(result.get("final_response"))
    if session_id is None:
        title_session(db, agent.session_id, text)
    print(f"[session {agent.session_id}]", file=sys.stderr)
    if result["failed"]:
        print(f"hermes: {result['error']}", file=sys.stderr)
        return 1
    return 0


def _continuation(db: ConversationStore, wanted: str | None) -> tuple[str | None, list[dict]]:
    if not wanted:
        return None, []
    session_id = find_session(db, wanted)
    db.reopen_session(session_id)
    return session_id, db.get_messages_as_conversation(session_id, include_ancestors=True)


class _Printer:
    """Streams the answer to stdout and tool activity to stderr."""

    def __init__(self) -> None:
        self.streamed = False

    def text(self, delta: str) -> None:
        self.streamed = True
        sys.stdout.write(delta)
        sys.stdout.flush()

    def tool(self, event: str, name: str, *_args: Any, **kwargs: Any) -> None:
        if event == "tool.started":
            print(f"\n[tool {name}]", file=sys.stderr, flush=True)
        elif event == "tool.completed" and kwargs.get("is_error"):
            print(f"[tool {name} failed]", file=sys.stderr, flush=True)

    def finish(self, final: str | None) -> None:
        if final and not self.streamed:
            sys.stdout.write(final)
        sys.stdout.write("\n")
        sys.stdout.flush()


def _ask_approval(command: str, reason: str) -> str:
    print(f"\nThe agent wants to run: {command}\n({reason})", file=sys.stderr)
    answer = input("Allow? [y]es once / [s]ession / [N]o: ").strip().lower()
    return {"y": "once", "yes": "once", "s": "session"}.get(answer, "deny")
