"""`hermes mcp list|add|remove|test`: the MCP servers whose tools the agent may use.

`add` writes the `mcp_servers:` entry of config.yaml; running processes pick the change up at
their next model call. `--trust` (tools run without asking) is set only here or in the file.
"""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(commands: argparse._SubParsersAction) -> None:
    mcp = commands.add_parser(
        "mcp",
        help="list, add, remove and test MCP servers",
        description="MCP servers: programs (stdio) or endpoints (streamable HTTP) whose tools "
        "the agent is offered as mcp_<server>_<tool>. Kept under mcp_servers: in config.yaml.",
    )
    actions = mcp.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="the configured servers")
    listing.set_defaults(run=_list)
    add = actions.add_parser(
        "add",
        help="add or replace a server",
        usage="hermes mcp add [OPTIONS] NAME (-- COMMAND [ARGS...] | --url URL)",
        description="Options come before the name. Examples: hermes mcp add files -- npx -y "
        "@modelcontextprotocol/server-filesystem ~/notes   |   hermes mcp add --url "
        "https://mcp.example/mcp --header 'Authorization=Bearer ${SEARCH_TOKEN}' search",
    )
    add.add_argument("name", help="1–32 lower-case letters, digits, - and _")
    add.add_argument(
        "command", nargs=argparse.REMAINDER, help="after --: the program and its arguments"
    )
    add.add_argument("--url", help="a streamable HTTP endpoint instead of a program")
    add.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    add.add_argument("--header", action="append", default=[], metavar="NAME=VALUE")
    add.add_argument("--cwd", help="the directory the program runs in")
    add.add_argument("--timeout", type=float, default=60.0, help="seconds a tool call may take")
    add.add_argument("--include", action="append", default=[], metavar="TOOL")
    add.add_argument("--exclude", action="append", default=[], metavar="TOOL")
    add.add_argument("--disabled", action="store_true", help="add it switched off")
    add.add_argument("--trust", action="store_true", help="run its tools without asking")
    add.set_defaults(run=_add)
    remove = actions.add_parser("remove", help="remove a server")
    remove.add_argument("name")
    remove.set_defaults(run=_remove)
    test = actions.add_parser("test", help="connect once and list what a server offers")
    test.add_argument("name")
    test.set_defaults(run=_test)


def _list(_args: argparse.Namespace) -> int:
    from hermes_agent.mcp_client.config import load_servers

    servers = load_servers()
    if not servers:
        print("No MCP servers. Add one with: hermes mcp add NAME -- COMMAND [ARGS...]")
    for name, config in servers.items():
        where = config.url or " ".join([config.command or "", *config.args])
        flags = [f for f, on in (("off", not config.enabled), ("trusted", config.trusted)) if on]
        shown = f"  ({', '.join(flags)})" if flags else ""
        print(f"{name:16}  {config.transport:5}  {where}{shown}")
    return 0


def _add(args: argparse.Namespace) -> int:
    from hermes_agent.errors import ConfigError
    from hermes_agent.mcp_client.config import parse_server, save_server

    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if command and command[0].startswith("-"):
        raise ConfigError(f"put {command[0]} before the server's name")
    if bool(command) == bool(args.url):
        raise ConfigError("give either a command (after --) or --url")
    values: dict[str, Any] = {
        "env": _pairs(args.env, "--env"),
        "headers": _pairs(args.header, "--header"),
        "cwd": args.cwd,
        "timeout": args.timeout,
        "include": args.include,
        "exclude": args.exclude,
        "enabled": not args.disabled,
        "trusted": args.trust,
    }
    if args.url:
        values["url"] = args.url
    else:
        values["command"], values["args"] = command[0], command[1:]
    save_server(args.name, parse_server(args.name, values))
    print(f"Saved the MCP server {args.name}. Check it with: hermes mcp test {args.name}")
    return 0


def _pairs(items: list[str], option: str) -> dict[str, str]:
    from hermes_agent.errors import ConfigError

    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{option} takes KEY=VALUE, not {item!r}")
        pairs[key.strip()] = value
    return pairs


def _remove(args: argparse.Namespace) -> int:
    from hermes_agent.mcp_client.config import remove_server

    if not remove_server(args.name):
        print(f"hermes: there is no MCP server named {args.name!r}")
        return 1
    print(f"Removed the MCP server {args.name}.")
    return 0


def _test(args: argparse.Namespace) -> int:
    from hermes_agent.mcp_client import McpHub
    from hermes_agent.mcp_client.config import load_servers

    config = load_servers().get(args.name)
    if config is None:
        print(f"hermes: there is no MCP server named {args.name!r}")
        return 1
    hub = McpHub()
    try:
        status = hub.test(args.name, config)
    finally:
        hub.close()
    if status["state"] != "ready":
        print(f"{args.name}: {status['state']}: {status['error'] or 'no answer'}")
        return 1
    print(f"{args.name}: ready ({status['server'].get('name')} {status['server'].get('version')})")
    for tool in status["tools"]:
        marks = [
            m
            for m, on in (("read-only", tool["read_only"]), ("not offered", not tool["offered"]))
            if on
        ]
        noted = f"  ({', '.join(marks)})" if marks else ""
        print(f"  tool      mcp_{args.name}_{tool['name']}{noted}")
        if tool["description"]:
            print(f"            {tool['description'].splitlines()[0]}")
    for resource in status["resources"]:
        print(f"  resource  {resource['uri']}  {resource['name']}")
    for prompt in status["prompts"]:
        print(f"  prompt    {prompt['name']}({', '.join(prompt['arguments'])})")
    return 0
