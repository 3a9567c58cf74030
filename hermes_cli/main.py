"""The `hermes` command."""

from __future__ import annotations

import argparse
import logging
import sys

from hermes_agent.errors import HermesError

DESCRIPTION = """\
Hermes Station: a self-hosted AI agent whose conversations are never lost.

Data lives in $HERMES_HOME (default ~/.hermes): config.yaml, state.db (every surface's
sessions) and webui/ (the web UI's sessions, $HERMES_WEBUI_STATE_DIR).
"""


def build_parser() -> argparse.ArgumentParser:
    from api import __version__
    from hermes_cli import (
        chat,
        config_cmd,
        cron_cmd,
        doctor,
        gateway_cmd,
        mcp_cmd,
        memory_cmd,
        sessions,
        skills_cmd,
        state_cmd,
        tui,
        web,
    )

    parser = argparse.ArgumentParser(
        prog="hermes",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"hermes-station {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = (
        web,
        tui,
        gateway_cmd,
        chat,
        sessions,
        memory_cmd,
        skills_cmd,
        mcp_cmd,
        cron_cmd,
        config_cmd,
        state_cmd,
        doctor,
    )
    for module in modules:
        module.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 0
    logging.basicConfig(
        level=getattr(logging, getattr(args, "log_level", "warning").upper(), logging.WARNING),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return args.run(args)
    except HermesError as exc:
        print(f"hermes: {exc}", file=sys.stderr)
        return 1
