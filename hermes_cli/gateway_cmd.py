"""`hermes gateway [run]` and `hermes gateway pair`: the agent behind chat apps."""

from __future__ import annotations

import argparse
import logging
import sys

from hermes_agent.errors import ConfigError


def add_parser(commands: argparse._SubParsersAction) -> None:
    gateway = commands.add_parser(
        "gateway",
        help="answer on Telegram and webhooks",
        description="Run the agent behind the chat platforms enabled in the settings "
        "(gateway.platforms), one session per chat, recorded in state.db. See docs/gateway.md.",
    )
    gateway.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="log verbosity (default info)",
    )
    gateway.set_defaults(run=_run)
    actions = gateway.add_subparsers(dest="action", metavar="ACTION")
    run = actions.add_parser("run", help="run the gateway (the default)")
    run.set_defaults(run=_run)
    pair = actions.add_parser(
        "pair",
        help="print a one-time code that lets a new person in",
        description="Print a one-time pairing code. Whoever sends it to the bot (as a "
        "message, or /pair CODE) is allowed from then on.",
    )
    pair.add_argument("--platform", help="only valid on this platform (an installed one)")
    pair.add_argument(
        "--minutes", type=float, default=60, help="how long the code is valid (default 60)"
    )
    pair.set_defaults(run=_pair)


def _run(_args: argparse.Namespace) -> int:
    from gateway.run import run_gateway
    from gateway.single_instance import only_gateway
    from hermes_agent.plugins import PLATFORMS
    from hermes_agent.runtime import current_settings
    from hermes_agent.settings import hermes_home, load_gateway_settings

    settings = load_gateway_settings()
    if not settings.platforms:
        raise ConfigError(
            "no platform is enabled: hermes config set gateway.platforms NAME "
            f"(installed: {', '.join(PLATFORMS.names())}; several comma-separated)"
        )
    for name in settings.platforms:
        PLATFORMS[name].check(settings.section(name))
    current_settings()  # a bad agent setting is reported now, not at the first message
    # HTTP clients log every request's URL at info, and Telegram's URLs hold the bot's token
    for client in ("httpx", "httpx2"):
        logging.getLogger(client).setLevel(logging.WARNING)
    with only_gateway(hermes_home()):
        print(
            f"Hermes gateway: {', '.join(settings.platforms)}. Ctrl+C stops it.",
            file=sys.stderr,
            flush=True,
        )
        run_gateway(settings)
    return 0


def _pair(args: argparse.Namespace) -> int:
    from gateway.access import new_pairing_code
    from hermes_agent.plugins import PLATFORMS
    from hermes_agent.settings import hermes_home, load_gateway_settings

    if args.minutes <= 0:
        raise ConfigError("--minutes must be more than 0")
    if args.platform and args.platform not in PLATFORMS:
        installed = ", ".join(PLATFORMS.names())
        raise ConfigError(f"--platform {args.platform!r} is not installed; installed: {installed}")
    if not load_gateway_settings().pairing:
        raise ConfigError("pairing is off (gateway.pairing: false)")
    code = new_pairing_code(hermes_home() / "gateway", args.platform, args.minutes * 60)
    where = f" on {args.platform}" if args.platform else ""
    print(f"Pairing code: {code}")
    print(
        f"Valid once{where}, for {args.minutes:g} minutes. Send it to the bot from the account "
        f"to let in (as a message, or /pair {code})."
    )
    return 0
