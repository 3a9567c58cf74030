"""A generic webhook: any program can talk to the agent over signed HTTP.

    POST /hook/<name>    {"chat_id": "...", "user_id": "...", "text": "..."}

signed as `webhook_auth` describes, with the secret of hook `<name>` from the settings
(`gateway.webhook.hooks`). The reply carries the answer:

    200 {"status": "answered", "reply": "...", "messages": [...], "session_id": "..."}

A hook with a `callback_url` answers 202 `{"status": "accepted", "id": ...}` when the turn
outlasts `gateway.webhook.reply_timeout`, and posts the same body (plus `id`, `chat_id` and
`user_id`), signed with the hook's secret, to the callback URL when the turn ends. Refusals are
`{"error": ...}`: 400 bad body, 401 bad or replayed signature, 404 unknown hook, 413 body over
1 MB, 421 a `Host` the listener does not answer to (see `hermes_http.hosts`), 503 shutting down.

Conversations are kept per hook and `chat_id`; the server is a small FastAPI app that uvicorn
serves inside the gateway's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx
import orjson
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.exceptions import HTTPException

from gateway.events import Inbound
from gateway.platforms.base import Adapter, Answer, Channel
from gateway.platforms.webhook_auth import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Verifier,
    signed_headers,
)
from hermes_agent.errors import ConfigError
from hermes_agent.runtime import current_settings
from hermes_agent.settings import WebhookHook, WebhookSettings, describe_problems
from hermes_http.connections import listener_options
from hermes_http.hosts import HostGuard, HostPolicy

if TYPE_CHECKING:
    from gateway.run import GatewayRunner

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
MAX_TEXT = 100_000
CALLBACK_ATTEMPTS = 3
CALLBACK_TIMEOUT = 15.0
START_TIMEOUT = 10.0


class HookMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chat_id: str = Field(min_length=1, max_length=200)
    user_id: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=MAX_TEXT)

    @field_validator("chat_id", "user_id", mode="before")
    @classmethod
    def _number_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class WebhookAdapter(Adapter):
    name = "webhook"

    def __init__(self, settings: WebhookSettings, runner: GatewayRunner) -> None:
        self.settings = settings
        self.runner = runner
        self.verifier = Verifier()
        self.app = self._app()
        self._server: uvicorn.Server | None = None
        self._serving: asyncio.Task | None = None
        self._callbacks: set[asyncio.Task] = set()

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        shared = current_settings()
        host = self.settings.host
        config = uvicorn.Config(
            HostGuard(self.app, lambda: HostPolicy(host, current_settings().allowed_hosts)),
            host=host,
            port=self.settings.port,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=5,
            **listener_options(shared.trusted_proxies),
        )
        listening = _listening_socket(host, self.settings.port)
        self._server = _EmbeddedServer(config)
        self._serving = asyncio.create_task(
            self._server.serve(sockets=[listening]), name="webhook server"
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT
        while not self._server.started:
            if self._serving.done() or loop.time() > deadline:
                raise ConfigError(
                    f"the webhook server could not listen on "
                    f"{self.settings.host}:{self.settings.port}"
                )
            await asyncio.sleep(0.02)
        log.warning("webhook listening on http://%s:%s/hook/<name>", config.host, config.port)

    async def close(self) -> None:
        if self._callbacks:
            await asyncio.wait(self._callbacks, timeout=CALLBACK_TIMEOUT)
        if self._server is not None and self._serving is not None:
            self._server.should_exit = True
            with contextlib.suppress(SystemExit):
                await self._serving

    def channel_for(self, event: Inbound) -> Channel:
        return WebhookChannel()

    # -- the route ---------------------------------------------------------------------------

    def _app(self) -> FastAPI:
        app = FastAPI(title="Hermes Station webhook", openapi_url=None, docs_url=None)
        app.add_api_route("/hook/{name}", self._hook, methods=["POST"])

        @app.exception_handler(HTTPException)
        async def _http_error(_request: Request, exc: HTTPException) -> JSONResponse:
            return _error(exc.status_code, str(exc.detail))

        return app

    async def _hook(self, name: str, request: Request) -> JSONResponse:
        hook = self.settings.hooks.get(name)
        if hook is None:
            return _error(404, f"unknown hook: {name}")
        body = await _read_body(request)
        if body is None:
            return _error(413, f"the body is over {MAX_BODY} bytes")
        problem = self.verifier.problem(
            hook.secret,
            request.headers.get(TIMESTAMP_HEADER),
            request.headers.get(SIGNATURE_HEADER),
            body,
        )
        if problem:
            return _error(401, problem)
        try:
            message = HookMessage.model_validate_json(body)
        except ValidationError as exc:
            return _error(400, describe_problems(exc, "body"))
        if self.runner.stopping:
            return _error(503, "Hermes is shutting down; send it again in a moment")
        return await self._answer(name, hook, message)

    async def _answer(self, name: str, hook: WebhookHook, message: HookMessage) -> JSONResponse:
        event = Inbound(
            "webhook", f"{name}:{message.chat_id}", message.user_id, message.text,
            ref=uuid.uuid4().hex,
        )  # fmt: skip
        channel = WebhookChannel()
        await self.runner.receive(event, channel)
        waiting = asyncio.shield(channel.finished)
        try:
            if hook.callback_url:
                await asyncio.wait_for(waiting, self.settings.reply_timeout)
            else:
                await waiting
        except TimeoutError:
            task = asyncio.create_task(self._call_back(hook, event, message, channel))
            self._callbacks.add(task)
            task.add_done_callback(self._callbacks.discard)
            return JSONResponse({"status": "accepted", "id": event.ref}, status_code=202)
        return JSONResponse(self._outcome(event, channel))

    def _outcome(self, event: Inbound, channel: WebhookChannel) -> dict[str, Any]:
        chat = self.runner.chats.get(event.session_key)
        if channel.drop_reason:
            return {"status": "dropped", "reason": channel.drop_reason, "reply": ""}
        return {
            "status": "answered",
            "reply": "\n\n".join(channel.parts),
            "messages": channel.parts,
            "session_id": chat.session_id if chat else None,
        }

    async def _call_back(
        self, hook: WebhookHook, event: Inbound, message: HookMessage, channel: WebhookChannel
    ) -> None:
        """Post the answer of a long turn to the hook's callback URL, signed, with retries."""
        await channel.finished
        payload = {
            "id": event.ref,
            "chat_id": message.chat_id,
            "user_id": message.user_id,
            **self._outcome(event, channel),
        }
        body = orjson.dumps(payload)
        async with httpx.AsyncClient(timeout=CALLBACK_TIMEOUT) as client:
            for attempt in range(1, CALLBACK_ATTEMPTS + 1):
                headers = {"Content-Type": "application/json", **signed_headers(hook.secret, body)}
                try:
                    reply = await client.post(hook.callback_url, content=body, headers=headers)
                    if reply.status_code < 500:  # a 4xx will not get better
                        return
                    problem = f"status {reply.status_code}"
                except httpx.HTTPError as exc:
                    problem = str(exc)
                log.warning("callback for %s failed (%s), attempt %d", event.ref, problem, attempt)
                await asyncio.sleep(2**attempt)


class WebhookChannel(Channel):
    """Collects the replies to one request; `finished` resolves when all are in."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.drop_reason: str | None = None
        self.finished: asyncio.Future = asyncio.get_running_loop().create_future()

    async def send(self, text: str) -> None:
        self.parts.append(text)

    def answer(self) -> Answer:
        return CollectedAnswer(self)

    async def dropped(self, reason: str) -> None:
        self.drop_reason = reason

    async def done(self) -> None:
        if not self.finished.done():
            self.finished.set_result(None)


class CollectedAnswer(Answer):
    def __init__(self, channel: WebhookChannel) -> None:
        self.channel = channel
        self.streamed: list[str] = []

    def feed(self, delta: str) -> None:
        self.streamed.append(delta)

    async def close(self, final: str | None, notice: str | None) -> None:
        text = final if final is not None else "".join(self.streamed)
        self.channel.parts += [part for part in (text, notice) if part]


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside the gateway's loop: the gateway, not uvicorn, handles the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _read_body(request: Request) -> bytes | None:
    """The body, or None as soon as it grows past MAX_BODY."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return None
    return bytes(body)


def _listening_socket(host: str, port: int) -> socket.socket:
    """The server's socket, bound here so a busy port or a bad address is a clear error
    (uvicorn would log its own and end the process)."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError(
            f"the webhook server could not listen on {host}:{port}: {reason}"
        ) from None
