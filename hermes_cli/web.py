"""`hermes web`: the web UI and HTTP API."""

from __future__ import annotations

import argparse


def add_parser(commands: argparse._SubParsersAction) -> None:
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
        help="allow listening on a non-loopback address without a password "
        "(HERMES_WEBUI_PASSWORD or one set in the settings dialog)",
    )
    web.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="server log verbosity (default info)",
    )
    web.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from api import config
    from api.server import serve

    port = args.port if args.port is not None else config.PORT
    if not 0 < port < 65536:
        raise SystemExit(f"--port must be between 1 and 65535, got {port}")
    serve(args.host or config.HOST, port, insecure=args.insecure, log_level=args.log_level)
    return 0
