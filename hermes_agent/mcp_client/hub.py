"""The process's MCP servers: one connection each, shared by every agent of the process.

Nothing starts with the process. The first agent built asks for the servers (`start`), which
connect in the background on one event loop thread; the first model call waits for those still
starting, at most their `startup_timeout`, so the first turn already has their tools. The
configuration is read again whenever config.yaml changes (a `hermes mcp add` in another
terminal reaches a running server), and a server whose configuration changed is restarted.
At exit every server is stopped, which ends its process.

The SDK is imported only once a server is configured, so a process without any pays nothing.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hermes_agent.errors import ConfigError
from hermes_agent.mcp_client.config import ServerConfig, load_servers
from hermes_agent.settings import config_path, hermes_home

if TYPE_CHECKING:
    from hermes_agent.mcp_client.connection import ServerConnection
    from hermes_agent.tools.registry import Tool

log = logging.getLogger(__name__)


class McpHub:
    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._env = env
        self._lock = threading.RLock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._servers: dict[str, ServerConnection] = {}
        self._stamp: tuple[str, int, int] | None = None
        self._config_error: str | None = None
        self._started = False

    # ── configuration ────────────────────────────────────────────────────────────────────
    def configured(self) -> bool:
        """Whether any server is configured and enabled (cheap: no server is started)."""
        self._refresh_config()
        return any(c.config.enabled for c in self._servers.values())

    def reload(self) -> None:
        """Read the servers from config.yaml now (after this process changed it)."""
        with self._lock:
            self._stamp = None
        self._refresh_config()

    def _refresh_config(self) -> None:
        with self._lock:
            stamp = _stamp(config_path(self._env))
            if stamp == self._stamp:
                return
            self._stamp = stamp
            try:
                configs = load_servers(self._env)
            except ConfigError as exc:
                self._config_error = str(exc)
                log.warning("MCP servers are unchanged: %s", exc)
                return
            self._config_error = None
            self._apply(configs)

    def _apply(self, configs: dict[str, ServerConfig]) -> None:
        from hermes_agent.mcp_client.connection import ServerConnection

        for name in [n for n in self._servers if configs.get(n) != self._servers[n].config]:
            self._servers.pop(name).stop()
        for name, config in configs.items():
            if name not in self._servers:
                self._servers[name] = ServerConnection(
                    name, config, self._event_loop(), self._logs()
                )
        if self._started:
            self._start_enabled()

    # ── servers ──────────────────────────────────────────────────────────────────────────
    def start(self) -> None:
        """Begin connecting every enabled server that is not yet; returns at once."""
        self._refresh_config()
        with self._lock:
            self._started = True
            self._start_enabled()

    def _start_enabled(self) -> None:
        for connection in self._servers.values():
            if connection.config.enabled:
                connection.start()

    def tools(self) -> list[Tool]:
        """The tools of every enabled server, as the model is offered them now; waits for
        servers making their first attempt (at most their startup timeout)."""
        from hermes_agent.mcp_client.tools import as_tool

        self.start()
        with self._lock:
            connections = [c for c in self._servers.values() if c.config.enabled]
        offered: dict[str, Tool] = {}
        for connection in connections:
            if connection.state == "starting":
                connection.wait_settled(connection.config.startup_timeout)
            for remote in connection.tools:
                if connection.config.offers(remote.name):
                    tool = as_tool(connection, remote)
                    offered.setdefault(tool.name, tool)
        return list(offered.values())

    def status(self) -> list[dict[str, Any]]:
        """Each configured server as the user sees it: its configuration (secrets masked),
        state, last error and what it offers."""
        self._refresh_config()
        with self._lock:
            connections = list(self._servers.values())
        return [describe(c) for c in connections]

    def config_error(self) -> str | None:
        self._refresh_config()
        return self._config_error

    def test(self, name: str, config: ServerConfig) -> dict[str, Any]:
        """Connect to a server once (configured or not), say what it offers, disconnect."""
        from hermes_agent.mcp_client.connection import ServerConnection

        probe = ServerConnection(name, config, self._event_loop(), self._logs())
        probe.start()
        probe.wait_settled(config.startup_timeout + 1)
        try:
            return describe(probe)
        finally:
            probe.stop()

    def close(self) -> None:
        """Stop every server (ending stdio servers' processes) and the loop."""
        with self._lock:
            connections, self._servers = list(self._servers.values()), {}
            loop, self._loop = self._loop, None
            self._started, self._stamp = False, None
        for connection in connections:
            connection.stop()
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)

    def _logs(self) -> Path:
        return hermes_home(self._env) / "logs"

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                threading.Thread(
                    target=self._loop.run_forever, name="mcp-servers", daemon=True
                ).start()
            return self._loop


def describe(connection: ServerConnection) -> dict[str, Any]:
    config = connection.config
    return {
        "name": connection.name,
        "config": config.public(),
        "state": connection.state if config.enabled else "disabled",
        "error": connection.error,
        "server": connection.server_info,
        "restarts": connection.restarts,
        "tools": [
            {
                "name": t.name,
                "description": t.description,
                "read_only": t.read_only,
                "offered": config.offers(t.name),
            }
            for t in connection.tools
        ],
        "resources": list(connection.resources),
        "prompts": list(connection.prompts),
    }


def _stamp(path: Path) -> tuple[str, int, int]:
    """What changes when config.yaml does (or another home is used)."""
    try:
        info = os.stat(path)
    except OSError:
        return str(path), 0, 0
    return str(path), info.st_mtime_ns, info.st_size


_hub: McpHub | None = None
_hub_lock = threading.Lock()


def shared_hub() -> McpHub:
    """The process's hub, made on first use and closed at exit."""
    global _hub
    with _hub_lock:
        if _hub is None:
            _hub = McpHub()
            atexit.register(_hub.close)
        return _hub
