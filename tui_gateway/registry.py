"""The method table: each JSON-RPC method, its params model and its handler.

Handler modules register with `@method(name, Params)` and are imported on the first lookup,
not at start-up, so the gateway answers `gateway.ready` before pydantic, the agent or the
store are loaded. A handler takes the validated params and returns the result object; it
raises `RpcError` (or a `HermesError`, mapped in `server.handle_request`) to fail.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tui_gateway.rpc import INVALID_PARAMS, RpcError

HANDLER_MODULES = (
    "tui_gateway.turn",
    "tui_gateway.session_methods",
    "tui_gateway.config_methods",
    "tui_gateway.approvals",
)


@dataclass(frozen=True)
class Method:
    name: str
    params: Any  # a pydantic model class
    handler: Callable[[Any], dict[str, Any]]
    slow: bool  # may wait on the model: run off the reading loop so input stays live

    def call(self, raw: dict[str, Any]) -> dict[str, Any]:
        from pydantic import ValidationError

        from hermes_agent.settings import describe_problems

        try:
            params = self.params.model_validate(raw)
        except ValidationError as exc:
            raise RpcError(
                INVALID_PARAMS, f"invalid params: {describe_problems(exc, 'params')}"
            ) from None
        return self.handler(params)


METHODS: dict[str, Method] = {}
_loaded = False
_load_lock = threading.Lock()


def method(name: str, params: Any, *, slow: bool = False) -> Callable:
    def register(handler: Callable[[Any], dict[str, Any]]) -> Callable[[Any], dict[str, Any]]:
        METHODS[name] = Method(name, params, handler, slow)
        return handler

    return register


def lookup(name: str) -> Method | None:
    if not _loaded:
        preload()
    return METHODS.get(name)


def preload(extra_modules: tuple[str, ...] = ()) -> None:
    """Import the handler modules (and `extra_modules`), once; lookups wait for it."""
    global _loaded
    with _load_lock:
        for module in (*HANDLER_MODULES, *extra_modules):
            importlib.import_module(module)
        _loaded = True
