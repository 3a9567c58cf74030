"""`hermes config show|set`: the effective settings, and edits of config.yaml."""

from __future__ import annotations

import argparse

import yaml


def add_parser(commands: argparse._SubParsersAction) -> None:
    config = commands.add_parser(
        "config",
        help="show or change settings",
        description="Show the effective settings (config.yaml plus environment) or set one "
        "in $HERMES_HOME/config.yaml.",
    )
    actions = config.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="print the effective settings (secrets masked)")
    show.set_defaults(run=_show)
    setter = actions.add_parser("set", help="set KEY to VALUE in config.yaml")
    setter.add_argument("key")
    setter.add_argument("value", help="lists are comma-separated")
    setter.set_defaults(run=_set)


def _show(_args: argparse.Namespace) -> int:
    from hermes_agent.settings import config_path, load_settings

    settings = load_settings()
    print(f"# {config_path()} + environment")
    print(yaml.safe_dump(settings.public(), sort_keys=True, allow_unicode=True), end="")
    return 0


def _set(args: argparse.Namespace) -> int:
    from hermes_agent.settings import config_path, set_config_value

    settings = set_config_value(args.key, args.value)
    shown = settings.public().get(args.key)
    print(f"{args.key} = {shown!r} (saved to {config_path()})")
    return 0
