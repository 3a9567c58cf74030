"""The web application: routers, the request guard, and the one mapping of errors to replies."""

from __future__ import annotations

import contextlib
import errno
import gc
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from starlette.exceptions import HTTPException
from starlette.requests import Request

from api import (
    __version__,
    config,
    models,
    openapi_extras,
    openapi_links,
    recovery,
    session_index,
)
from api.middleware import RequestGuard, host_policy_for
from api.responses import JSONResponse, error_response
from api.routes import (
    attachments,
    auth,
    chat,
    cron,
    health,
    memory,
    projects,
    sessions,
    settings,
    skills,
    tools,
    ui,
    workspace,
)
from hermes_agent.errors import HermesError
from hermes_agent.runtime import attachment_store
from hermes_cron import service as scheduler
from hermes_http.hosts import HostGuard

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    for directory in (config.STATE_DIR, config.SESSION_DIR):
        directory.mkdir(parents=True, exist_ok=True)
    rows = models.index_rows()
    log.info("%d saved sessions in %s", len(rows), config.SESSION_DIR)
    recovery.recover_interrupted_runs()
    attachment_store()  # opening it removes uploads a killed process left half-written
    # Start-up made most of the objects this process will ever hold; moved out of the
    # collector's sight, a full collection no longer pauses every stream for ~100 ms.
    gc.collect()
    gc.freeze()
    scheduler.start_scheduler()
    yield
    scheduler.stop_scheduler()
    session_index.close_current()


def create_app(bind_host: str | None = None) -> FastAPI:
    """The web application; `bind_host` is the address it listens on (default: the setting)."""
    app = FastAPI(
        title="Hermes Station",
        version=__version__,
        description="A self-hosted AI agent whose conversations are never lost.",
        lifespan=lifespan,
        default_response_class=JSONResponse,
        docs_url="/api/docs",
        swagger_ui_oauth2_redirect_url=None,
        redoc_url=None,
    )
    routers = (health, auth, sessions, projects, chat, settings, attachments, workspace)
    for module in (*routers, memory, skills, tools, cron):
        app.include_router(module.router)
    ui.install(app)
    app.add_exception_handler(HermesError, _hermes_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(OSError, _os_error)
    app.add_exception_handler(Exception, _unexpected_error)
    app.add_middleware(RequestGuard)
    app.add_middleware(HostGuard, policy=host_policy_for(bind_host or config.HOST))
    app.openapi = lambda: _openapi_with_our_errors(app)
    return app


ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "properties": {"error": {"type": "string", "description": "What went wrong."}},
    "required": ["error"],
}


def _openapi_with_our_errors(app: FastAPI) -> dict:
    """The generated schema, with FastAPI's 422 replaced by the 400 `{"error"}` we send, the
    errors the request guard can answer any request with declared on every operation, and the
    links from replies that carry an id to the operations that take it."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    for operation in (op for path in schema["paths"].values() for op in path.values()):
        operation.setdefault("responses", {}).pop("422", None)
    openapi_extras.add_shared_errors(schema)
    openapi_links.add_links(schema)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    components["Error"] = ERROR_SCHEMA
    app.openapi_schema = schema
    return schema


async def _hermes_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HermesError)
    if exc.status >= 500:
        log.error("request failed: %s", exc)
    return error_response(exc.status, exc.message, **exc.details)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    messages = {404: "not found", 405: "method not allowed"}
    message = messages.get(exc.status_code) or str(exc.detail)
    reply = error_response(exc.status_code, message)
    if exc.status_code == 405:
        reply.headers["Allow"] = _allowed_methods(request, exc)
    return reply


def _allowed_methods(request: Request, exc: HTTPException) -> str:
    """Every method served at this path, as RFC 9110 asks a 405 to say. Read from the schema:
    the router's own list names only the first route it tried, and GET and POST of one path
    are separate routes."""
    documented = request.app.openapi()["paths"].get(request.url.path)
    if not documented:
        return (exc.headers or {}).get("Allow", "")
    methods = {method.upper() for method in documented}
    return ", ".join(sorted(methods | ({"HEAD"} if "GET" in methods else set())))


# Faults of the machine, not of the request: said plainly, so the user knows what to fix.
# Every edit is all-or-nothing, so a request that met one changed nothing.
_MACHINE_FAULTS = {
    errno.ENOSPC: (507, "the disk is full"),
    errno.EDQUOT: (507, "the disk quota is used up"),
    errno.EROFS: (507, "the disk is read-only"),
    errno.EMFILE: (503, "the server has too many files open"),
    errno.ENFILE: (503, "the system has too many files open"),
}


async def _os_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OSError)
    fault = _MACHINE_FAULTS.get(exc.errno or 0)
    if fault is None:
        return await _unexpected_error(request, exc)
    status, what = fault
    log.error("%s %s failed: %s", request.method, request.url.path, exc)
    return error_response(
        status, f"Nothing was saved: {what}. Try again once that is fixed; nothing was lost."
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "Internal server error")


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 becomes our 400, with one sentence a person can act on."""
    assert isinstance(exc, RequestValidationError)
    return error_response(400, describe_validation_errors(exc.errors()))


def describe_validation_errors(errors: list[dict]) -> str:
    missing = [_field(e) for e in errors if e.get("type") == "missing" and _field(e)]
    if missing:
        return "Missing required field(s): " + ", ".join(missing)
    first = errors[0] if errors else {}
    kind = first.get("type", "")
    if kind == "value_error":
        return f"{_field(first) or 'body'}: {first.get('ctx', {}).get('error', 'invalid value')}"
    if kind == "json_invalid":
        return "Malformed JSON body: " + str(first.get("ctx", {}).get("error", "cannot parse"))
    if kind in {"missing", "model_attributes_type", "dict_type"} and not _field(first):
        return "Request body must be a JSON object"
    return f"{_field(first) or 'body'}: {first.get('msg', 'invalid value')}"


def _field(error: dict) -> str:
    loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "query")]
    return ".".join(loc)
