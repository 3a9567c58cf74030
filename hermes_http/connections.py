"""uvicorn's HTTP/1.1 protocol, with deadlines for unfinished requests and a connection cap.

uvicorn times out idle keep-alive connections, but a client that sends half a request head
and then nothing (or one byte every few seconds) holds its connection, and one file
descriptor, for as long as it likes. A thousand such clients used to exhaust the default
open-file limit: `/health` stopped answering and a running turn failed with EMFILE. Here:

- a request head must arrive whole within `HEAD_SECONDS` of its first byte, however slowly
  its bytes trickle in, and a connection that sends nothing is closed after `SILENT_SECONDS`;
- a request body may pause for at most `BODY_IDLE_SECONDS` between chunks;
- at most `max_connections` are open; a new one beyond that closes the connection that has
  waited longest for its request head, so a newcomer is served while a flood is shed. If every
  open connection is busy with a real request, the newcomer is the one closed.

Responses in progress (event streams included) are never cut by these rules.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from hermes_http.limits import connection_cap, raise_open_file_limit

log = logging.getLogger(__name__)

HEAD_SECONDS = 10.0
BODY_IDLE_SECONDS = 10.0
# A connection that has sent nothing yet is not a request. Browsers open such connections
# ahead of need and drop them unused after about 10 s, so they get longer than a request head
# would: closing them in step with the browser only races it. The cap sheds them first.
SILENT_SECONDS = 20.0


class GuardedH11Protocol(H11Protocol):
    """One connection; see the module docstring. Subclassed per listener by `guarded_protocol`."""

    max_connections = 1024
    head_seconds = HEAD_SECONDS
    body_idle_seconds = BODY_IDLE_SECONDS
    silent_seconds = SILENT_SECONDS
    # Connections waiting for a request head, oldest first; one dict per listener class.
    waiting: ClassVar[OrderedDict[GuardedH11Protocol, None]] = OrderedDict()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._deadline: asyncio.TimerHandle | None = None
        self._head_started = False
        if len(self.connections) > self.max_connections and not self._shed_oldest_waiting():
            log.warning("refusing a connection: %d are open", len(self.connections))
            transport.close()
            return
        self._await_request()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        state = self.conn.their_state
        if state is h11.IDLE:
            if not self._head_started:  # the first bytes of a head: its deadline starts now
                self._head_started = True
                self._arm(self.head_seconds, "request head not received in time")
            return
        if state is h11.SEND_BODY:
            self._arm(self.body_idle_seconds, "request body stalled")
            self.waiting.pop(self, None)
        else:
            self._stop_waiting()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._await_request()

    def _await_request(self) -> None:
        self._head_started = False
        self._arm(self.silent_seconds, "no request sent")
        self.waiting[self] = None

    def _arm(self, seconds: float, reason: str) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = self.loop.call_later(seconds, self._drop, reason)

    def _stop_waiting(self) -> None:
        if getattr(self, "_deadline", None) is not None:
            self._deadline.cancel()
            self._deadline = None
        self.waiting.pop(self, None)

    def _drop(self, reason: str) -> None:
        self._deadline = None
        self.waiting.pop(self, None)
        if not self.transport.is_closing():
            log.info("closing a connection from %s: %s", self.client, reason)
            self.transport.close()

    def _shed_oldest_waiting(self) -> bool:
        for candidate in self.waiting:
            if candidate is not self:
                candidate._drop("too many connections; this one had sent no request")
                return True
        return False


def guarded_protocol(max_connections: int) -> type[GuardedH11Protocol]:
    """A protocol class for one listener, with its own cap and its own waiting list."""
    return type(
        "ListenerH11Protocol",
        (GuardedH11Protocol,),
        {"max_connections": max_connections, "waiting": OrderedDict()},
    )


def listener_options(trusted_proxies: tuple[str, ...]) -> dict[str, Any]:
    """uvicorn options every Hermes listener uses: the guarded protocol, and forwarded headers
    (`X-Forwarded-For`, `-Proto`) believed only from the proxies the user listed.

    uvicorn believes them from 127.0.0.1 by default; then any local process, or a page that
    got a request to us through a local proxy, could claim any client address and so escape
    the login throttle.
    """
    cap = connection_cap(raise_open_file_limit())
    return {
        "http": guarded_protocol(cap),
        "proxy_headers": bool(trusted_proxies),
        "forwarded_allow_ips": list(trusted_proxies) or None,
    }
