"""The `hermes` command."""

from __future__ import annotations

import argparse
import logging
import sys

DESCRIPTION = """\
Hermes Station: a self-hosted AI agent whose conversations are never lost.

Data lives in $HERMES_HOME (default ~/.hermes); the web UI keeps its sessions in
$HERMES_WEBUI_STATE_DIR (default $HERMES_HOME/webui).
"""


def build_parser() -> argparse.ArgumentParser:
    from api import __version__

    parser = argparse.ArgumentParser(
        prog="hermes",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"hermes-station {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    web = commands.add_parser(
        "web",
        help="start the web UI and HTTP API",
        description="Start the web UI and HTTP API (default http://127.0.0.1:8787).",
    )
    web.add_argument(
        "--host", help="address to listen on (env HERMES_WEBUI_HOST; default 127.0.0.1)"
    )
    web.add_argument(
        "--port", type=int, help="port to listen on (env HERMES_WEBUI_PORT; default 8787)"
    )
    web.add_argument(
        "--insecure",
        action="store_true",
        help="allow listening on a non-loopback address without authentication",
    )
    web.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="server log verbosity (default info)",
    )
    web.set_defaults(run=_run_web)
    return parser


def _run_web(args: argparse.Namespace) -> int:
    from api import config
    from api.server import serve

    port = args.port if args.port is not None else config.PORT
    if not 0 < port < 65536:
        raise SystemExit(f"--port must be between 1 and 65535, got {port}")
    serve(args.host or config.HOST, port, insecure=args.insecure, log_level=args.log_level)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 0
    logging.basicConfig(
        level=getattr(logging, getattr(args, "log_level", "info").upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    return args.run(args)
