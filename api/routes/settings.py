"""Provider settings from the browser: read, change, list models, and test the connection.

The API key is write-only: replies say whether one is set, never what it is. Settings fixed
by `HERMES_*` variables are named in `from_environment`, since the environment wins over the
value saved here. The approval policy is not settable here (only in config.yaml or with
`hermes config set`), so nothing the agent can reach over HTTP loosens it.
"""

from __future__ import annotations

import threading
import time

from fastapi import APIRouter

from api import agent_runtime, replies
from api.openapi_extras import errors
from api.responses import NO_STORE, JSONResponse
from api.schemas import SettingsUpdate
from hermes_agent.agent import model_sees_images
from hermes_agent.errors import ProviderError
from hermes_agent.providers import PROVIDERS
from hermes_agent.providers.base import ChatRequest, complete
from hermes_agent.settings import Settings, environment_overrides, set_config_value

router = APIRouter(tags=["settings"])

WEB_SETTABLE = (
    "provider",
    "base_url",
    "model",
    "api_key",
    "model_path",
    "context_length",
    "llm_titles",
    "memory",
)


def _public(settings: Settings) -> dict:
    data = settings.public()
    data["api_key"] = None
    data["api_key_set"] = bool(settings.api_key)
    data["web_settable"] = list(WEB_SETTABLE)
    data["from_environment"] = sorted(environment_overrides() & set(WEB_SETTABLE))
    data["providers"] = [
        {"name": plugin.name, "title": plugin.title or plugin.name} for plugin in PROVIDERS
    ]
    return data


@router.get(
    "/api/settings",
    summary="The agent's settings (the API key is never returned)",
    response_model=replies.SettingsView,
)
def read_settings() -> JSONResponse:
    return JSONResponse(_public(agent_runtime.current_settings()), headers=NO_STORE)


@router.post(
    "/api/settings",
    summary="Change provider settings; saved to config.yaml",
    response_model=replies.SettingsView,
)
def update_settings(body: SettingsUpdate) -> JSONResponse:
    changes = body.model_dump(exclude_unset=True)
    for key, value in changes.items():
        set_config_value(key, "" if value is None else str(value))
    return JSONResponse(_public(agent_runtime.reload_settings()), headers=NO_STORE)


@router.get(
    "/api/models",
    summary="The models the configured provider offers",
    response_model=replies.ModelList,
    responses=errors(502),
)
def list_models() -> JSONResponse:
    settings = agent_runtime.current_settings()
    provider = agent_runtime.shared_provider()
    models = provider.list_models()
    current = settings.effective_model
    vision = {
        name: model_sees_images(provider, name, settings.vision_models)
        for name in dict.fromkeys([*models, current])
        if name
    }
    return JSONResponse(
        {"provider": settings.provider, "current": current, "models": models, "vision": vision}
    )


@router.post(
    "/api/settings/test",
    summary="Send one tiny request to the configured provider",
    response_model=replies.ProviderAnswered,
    responses=errors(502),
)
def test_provider() -> JSONResponse:
    settings = agent_runtime.current_settings()
    started = time.monotonic()
    request = ChatRequest(
        model=settings.effective_model,
        messages=[{"role": "user", "content": "Reply with the word OK."}],
        max_tokens=5,
    )
    try:
        reply = complete(agent_runtime.shared_provider(), request, threading.Event()).text
    except ProviderError as exc:
        return JSONResponse({"ok": False, "error": str(exc), "kind": exc.kind}, status_code=502)
    return JSONResponse(
        {
            "ok": True,
            "provider": settings.provider,
            "model": settings.effective_model,
            "reply": reply.strip()[:200],
            "latency_ms": round((time.monotonic() - started) * 1000),
        }
    )
