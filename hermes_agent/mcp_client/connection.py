"""One MCP server kept connected: started on demand, restarted with backoff when it dies.

A connection lives on the hub's event loop (`hermes_agent.mcp_client.hub`) as one task that
connects, initialises, lists what the server offers and then waits, until it is stopped or the
server goes away; then it connects again after a pause that doubles up to a limit. The rest of
the process (the agent's worker threads) only reads its snapshot (`state`, `tools`, ...) and
calls tools through `call`, which waits at most the server's `timeout` and the turn's cancel:
a server that hangs or crashes costs one tool call an error, never a turn or the process.

Between the transport and the SDK's session sits a relay, so the end of the server's stream
(a crashed process, a closed HTTP session) is noticed at once rather than at the next call.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import anyio
from mcp import ClientSession, McpError, StdioServerParameters, types

from hermes_agent.errors import HermesError, ToolError
from hermes_agent.mcp_client.config import ServerConfig
from hermes_agent.redaction import redact_text

log = logging.getLogger(__name__)

FIRST_BACKOFF = 0.5
MAX_BACKOFF = 30.0
STEADY_SECONDS = 30.0  # up this long, a server that dies again starts from the first backoff
STOP_SECONDS = 5.0
POLL_SECONDS = 0.05
MAX_LOG_BYTES = 1_000_000


@dataclass(frozen=True)
class RemoteTool:
    """A tool as its server describes it."""

    name: str
    description: str
    input_schema: dict[str, Any]
    read_only: bool


class ConnectionLost(Exception):
    """The server's side of the connection ended."""


class ServerConnection:
    """The live side of one configured server. Thread-safe: `start`, `stop`, `call` and the
    snapshot attributes may be used from any thread."""

    def __init__(
        self, name: str, config: ServerConfig, loop: asyncio.AbstractEventLoop, log_dir: Path
    ) -> None:
        self.name = name
        self.config = config
        self.state = "idle"  # (not started) | starting | ready | restarting | failed | stopped
        self.error: str | None = None
        self.tools: tuple[RemoteTool, ...] = ()
        self.resources: tuple[dict[str, Any], ...] = ()
        self.prompts: tuple[dict[str, Any], ...] = ()
        self.server_info: dict[str, Any] = {}
        self.restarts = 0
        self._loop = loop
        self._log_dir = log_dir
        self._session: ClientSession | None = None
        self._settled = threading.Event()  # ready, or the last attempt failed
        self._task: concurrent.futures.Future | None = None
        self._stopping = False
        self._wake: asyncio.Event | None = None
        self._background: set[asyncio.Task] = set()
        self._calls: set[concurrent.futures.Future] = set()  # in flight
        self._cut_off: set[concurrent.futures.Future] = set()  # ended by a lost connection

    # ── from any thread ──────────────────────────────────────────────────────────────────
    def start(self) -> None:
        """Begin connecting (once); returns at once."""
        if self._task is None:
            self.state = "starting"
            self._task = asyncio.run_coroutine_threadsafe(self._run(), self._loop)

    def wait_settled(self, timeout: float) -> bool:
        """Wait until the server is ready or an attempt failed; False after `timeout`."""
        return self._settled.wait(timeout)

    def stop(self) -> None:
        """Disconnect (ending the server's process) and wait for it, briefly."""
        self._stopping = True
        task = self._task
        if task is None:
            return
        self._loop.call_soon_threadsafe(self._wake_up)
        with contextlib.suppress(Exception):
            task.result(STOP_SECONDS)
        task.cancel()
        self.state = "stopped"

    def call(
        self, tool: str, arguments: dict[str, Any], cancel: threading.Event
    ) -> types.CallToolResult:
        """Call `tool` and wait for its result, at most the server's timeout. Raises ToolError
        saying what went wrong, in words the model can act on."""
        self.start()
        self._settled.wait(min(self.config.startup_timeout, self.config.timeout))
        session = self._session
        if session is None:
            raise ToolError(f"the MCP server {self.name!r} is not running{self._why()}")
        future = asyncio.run_coroutine_threadsafe(session.call_tool(tool, arguments), self._loop)
        self._calls.add(future)
        try:
            return self._wait(future, tool, cancel)
        finally:
            self._calls.discard(future)
            self._cut_off.discard(future)

    def _wait(
        self, future: concurrent.futures.Future, tool: str, cancel: threading.Event
    ) -> types.CallToolResult:
        deadline = time.monotonic() + self.config.timeout
        while True:
            try:
                return future.result(POLL_SECONDS)
            except concurrent.futures.TimeoutError:
                pass
            except McpError as exc:
                raise ToolError(self._failure(exc.error.code, exc.error.message)) from None
            except concurrent.futures.CancelledError:
                if future in self._cut_off:
                    raise ToolError(self._failure(types.CONNECTION_CLOSED, "")) from None
                raise ToolError(f"the call to the MCP server {self.name!r} was cut off") from None
            if cancel.is_set():
                future.cancel()
                raise ToolError("interrupted before the MCP tool answered")
            if time.monotonic() >= deadline:
                future.cancel()
                raise ToolError(
                    f"the MCP tool {tool!r} of {self.name!r} did not answer within "
                    f"{self.config.timeout:g} s; it was abandoned"
                )

    def scrub(self, text: str) -> str:
        """`text` with this server's secrets and any key-looking string taken out."""
        for secret in self.config.secrets():
            text = text.replace(secret, "[redacted]")
        return redact_text(text)

    def _why(self) -> str:
        return f" ({self.error})" if self.error else ""

    def _failure(self, code: int, message: str) -> str:
        if code == types.CONNECTION_CLOSED:
            return (
                f"the MCP server {self.name!r} stopped while answering; it is being restarted, "
                "so the call may be tried again"
            )
        return f"the MCP server {self.name!r} refused the call: {self.scrub(message)}"

    # ── on the hub's loop ────────────────────────────────────────────────────────────────
    async def _run(self) -> None:
        backoff = FIRST_BACKOFF
        while not self._stopping:
            started = time.monotonic()
            try:
                await self._connect_once()
            except Exception as exc:  # any failure of a server is its own, never the process's
                self.error = self.scrub(_describe(exc))
                log.warning("MCP server %s: %s", self.name, self.error)
            self._session = None
            if self._stopping:
                break
            if time.monotonic() - started >= STEADY_SECONDS:
                backoff = FIRST_BACKOFF
            self.state = "restarting" if self.state in ("ready", "restarting") else "failed"
            self._settled.set()
            self.restarts += 1
            await self._pause(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)
            if not self._stopping:
                self._settled.clear()
        self.state = "stopped"

    async def _pause(self, seconds: float) -> None:
        self._wake = asyncio.Event()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    def _wake_up(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def _connect_once(self) -> None:
        self._wake = asyncio.Event()
        async with self._transport() as (read, write):
            relay_send, relay_receive = anyio.create_memory_object_stream[Any](0)
            async with anyio.create_task_group() as group:
                group.start_soon(self._relay, read, relay_send)
                try:
                    await self._serve(relay_receive, write)
                finally:
                    self._session = None
                    group.cancel_scope.cancel()
        if not self._stopping:
            self.state = "restarting"
        self._cut_off_calls()
        if not self._stopping:
            raise ConnectionLost("the server closed the connection")

    def _cut_off_calls(self) -> None:
        """End the calls still waiting on a connection that is gone: no answer will come."""
        for future in list(self._calls):
            self._cut_off.add(future)
            future.cancel()

    async def _serve(self, read: Any, write: Any) -> None:
        async with ClientSession(read, write, message_handler=self._on_message) as session:
            with anyio.fail_after(self.config.startup_timeout):
                info = await session.initialize()
                await self._discover(session, info.capabilities)
            self.server_info = {"name": info.serverInfo.name, "version": info.serverInfo.version}
            self._session, self.state, self.error = session, "ready", None
            self._settled.set()
            log.info("MCP server %s is ready with %d tools", self.name, len(self.tools))
            await self._wake.wait()

    async def _relay(self, read: Any, send: Any) -> None:
        """Pass the server's messages on; when its stream ends, wake the connection."""
        try:
            async with send:
                async for message in read:
                    await send.send(message)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            pass
        finally:
            self._wake_up()

    @contextlib.asynccontextmanager
    async def _transport(self) -> AsyncIterator[tuple[Any, Any]]:
        if self.config.command:
            from mcp.client.stdio import stdio_client

            params = StdioServerParameters(
                command=self.config.command,
                args=list(self.config.args),
                env=self.config.expanded_env(),
                cwd=self.config.cwd,
            )
            with self._errlog() as errlog:
                async with stdio_client(params, errlog=errlog) as (read, write):
                    yield read, write
            return
        import httpx
        from mcp.client.streamable_http import streamable_http_client

        timeout = httpx.Timeout(self.config.startup_timeout, read=max(300.0, self.config.timeout))
        headers = self.config.expanded_headers()
        async with (
            httpx.AsyncClient(headers=headers, timeout=timeout) as client,
            streamable_http_client(self.config.url or "", http_client=client) as streams,
        ):
            yield streams[0], streams[1]

    @contextlib.contextmanager
    def _errlog(self) -> Any:
        """The server's stderr goes to its own log file (started afresh when it grows big)."""
        self._log_dir.mkdir(parents=True, exist_ok=True)
        path = self._log_dir / f"mcp-{self.name}.log"
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_size > MAX_LOG_BYTES:
                path.unlink()
        file: TextIO
        with path.open("a", encoding="utf-8") as file:
            yield file

    async def _discover(
        self, session: ClientSession, capabilities: types.ServerCapabilities
    ) -> None:
        await self._list_tools(session)
        if capabilities.resources is not None:
            await self._list_resources(session)
        if capabilities.prompts is not None:
            await self._list_prompts(session)

    async def _list_tools(self, session: ClientSession) -> None:
        found: list[types.Tool] = []
        cursor: str | None = None
        while True:
            page = await session.list_tools(cursor)
            found.extend(page.tools)
            cursor = page.nextCursor
            if not cursor:
                break
        self.tools = tuple(_remote_tool(t) for t in found)

    async def _list_resources(self, session: ClientSession) -> None:
        try:
            listed = await session.list_resources()
        except McpError:
            return
        self.resources = tuple(
            {"uri": str(r.uri), "name": r.name, "description": r.description or ""}
            for r in listed.resources
        )

    async def _list_prompts(self, session: ClientSession) -> None:
        try:
            listed = await session.list_prompts()
        except McpError:
            return
        self.prompts = tuple(
            {
                "name": p.name,
                "description": p.description or "",
                "arguments": [a.name for a in p.arguments or ()],
            }
            for p in listed.prompts
        )

    async def _on_message(self, message: Any) -> None:
        """A server says its lists changed: read them again, outside the receive loop (which
        must stay free to deliver the answer)."""
        if not isinstance(message, types.ServerNotification) or self._session is None:
            return
        refresh = {
            types.ToolListChangedNotification: self._list_tools,
            types.ResourceListChangedNotification: self._list_resources,
            types.PromptListChangedNotification: self._list_prompts,
        }.get(type(message.root))
        if refresh is not None:
            task = asyncio.get_running_loop().create_task(self._refreshed(refresh))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _refreshed(self, refresh: Any) -> None:
        session = self._session
        if session is None:
            return
        try:
            await refresh(session)
        except Exception as exc:  # a failed refresh keeps the previous list
            log.warning("MCP server %s: could not refresh its lists: %s", self.name, exc)


def _remote_tool(tool: types.Tool) -> RemoteTool:
    annotations = tool.annotations
    return RemoteTool(
        name=tool.name,
        description=tool.description or (annotations.title if annotations else None) or "",
        input_schema=tool.inputSchema or {},
        read_only=bool(annotations and annotations.readOnlyHint),
    )


def _describe(exc: BaseException) -> str:
    """The first real cause of a failure, which task groups wrap in exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, TimeoutError):
        return "it did not finish starting in time"
    if isinstance(exc, McpError):
        return exc.error.message
    if isinstance(exc, HermesError):
        return str(exc)
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, ConnectionLost) else f"{type(exc).__name__}: {text}"
