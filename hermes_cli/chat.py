"""`hermes chat "..."`: one turn with the configured provider, streamed to stdout and
recorded in state.db (source `cli`), so it can be found and continued from any surface."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hermes_agent.errors import BadRequest
from hermes_agent.history import find_session
from hermes_agent.turn import TurnEvents

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
    chat.add_argument(
        "--attach",
        action="append",
        default=[],
        metavar="FILE",
        help="send a file with the message (repeatable, up to 10): images, text, PDFs",
    )
    chat.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from hermes_agent import AIAgent
    from hermes_agent.attachment_content import user_content
    from hermes_agent.runtime import attachment_store, open_store
    from hermes_agent.settings import load_settings
    from hermes_agent.titles import title_session

    text = sys.stdin.read() if args.message == "-" else args.message
    if not text.strip():
        raise BadRequest("the message is empty")
    settings = load_settings()
    attachments = attached_files(args.attach)
    if args.model:
        settings = settings.model_copy(update={"model": args.model})
    db: ConversationStore = open_store(settings)
    session_id, history = _continuation(db, args.session)
    printer = _Printer(ask=sys.stdin.isatty())
    agent = AIAgent.from_settings(
        settings,
        session_db=db,
        session_id=session_id,
        platform="cli",
        workspace=Path.cwd(),
        events=printer,
    )
    try:
        result = agent.run_conversation(
            user_content(text, attachments),
            system_message=args.system,
            conversation_history=history,
        )
    except KeyboardInterrupt:
        agent.interrupt()
        print("\n[interrupted]", file=sys.stderr)
        return 130
    finally:
        db.end_session(agent.session_id, "cli_exit")
    attachment_store().refer(agent.session_id, [a["id"] for a in attachments])
    printer.finish(result.final_response)
    if session_id is None:
        title_session(db, agent.session_id, text)
    print(f"[session {agent.session_id}]", file=sys.stderr)
    if result.failure is not None:
        print(f"hermes: {result.failure}", file=sys.stderr)
        return 1
    return 0


def attached_files(paths: list[str]) -> list[dict]:
    """The local files at `paths`, stored as attachments; BadRequest saying which one failed."""
    from hermes_agent.attachments import MAX_PER_MESSAGE
    from hermes_agent.runtime import attachment_store

    if len(paths) > MAX_PER_MESSAGE:
        raise BadRequest(f"at most {MAX_PER_MESSAGE} files a message")
    store = attachment_store()
    return [store.add_file(Path(p).expanduser()).public() for p in paths]


def _continuation(db: ConversationStore, wanted: str | None) -> tuple[str | None, list[dict]]:
    if not wanted:
        return None, []
    session_id = find_session(db, wanted)
    db.reopen_session(session_id)
    return session_id, db.get_messages_as_conversation(session_id, include_ancestors=True)


class _Printer(TurnEvents):
    """Streams the answer to stdout and tool activity to stderr; asks for approvals on the
    terminal when there is one."""

    def __init__(self, *, ask: bool) -> None:
        self.streamed = False
        self.ask = ask

    def token(self, text: str) -> None:
        self.streamed = True
        sys.stdout.write(text)
        sys.stdout.flush()

    def tool_started(self, name: str, preview: str, args: dict[str, str]) -> None:
        print(f"\n[tool {name}]", file=sys.stderr, flush=True)

    def tool_finished(self, name: str, duration: float, is_error: bool) -> None:
        if is_error:
            print(f"[tool {name} failed]", file=sys.stderr, flush=True)

    def approve(self, request: str, reason: str) -> str | None:
        if not self.ask:
            return None
        print(f"\nThe agent wants to run: {request}\n({reason})", file=sys.stderr)
        answer = input("Allow? [y]es once / [s]ession / [N]o: ").strip().lower()
        return {"y": "once", "yes": "once", "s": "session"}.get(answer, "deny")

    def finish(self, final: str | None) -> None:
        if final and not self.streamed:
            sys.stdout.write(final)
        sys.stdout.write("\n")
        sys.stdout.flush()
