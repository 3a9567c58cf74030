"""Login, logout, the auth status the UI asks for first, and the password set from Settings."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import Field
from starlette.requests import Request

from api import auth, passwords, replies
from api.openapi_extras import errors
from api.responses import NO_STORE, JSONResponse
from api.schemas import Body, Login
from hermes_agent.errors import BadRequest

router = APIRouter(tags=["auth"])


class PasswordChange(Body):
    current: str | None = Field(
        None, max_length=1000, description="The password in use; required when one is set."
    )
    new: str | None = Field(
        max_length=1000,
        description="The new password (8 characters or more); null removes it.",
        json_schema_extra={"minLength": passwords.MIN_LENGTH},
    )


def _cookie_of(request: Request) -> str | None:
    return request.cookies.get(auth.COOKIE_NAME)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _logged_in(guard: auth.Authenticator, request: Request, body: dict) -> JSONResponse:
    """`body` plus a CSRF token, with a fresh session cookie for this browser."""
    cookie = guard.new_cookie()
    reply = JSONResponse({**body, "csrf_token": guard.csrf_token(cookie)}, headers=NO_STORE)
    reply.set_cookie(
        auth.COOKIE_NAME,
        cookie,
        max_age=auth.SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return reply


def _logged_out(body: dict) -> JSONResponse:
    reply = JSONResponse(body, headers=NO_STORE)
    reply.delete_cookie(auth.COOKIE_NAME, path="/", httponly=True, samesite="strict")
    return reply


@router.get(
    "/api/auth/status",
    summary="Whether a password is required and whether you have a session",
    response_model=replies.AuthStatus,
)
def status(request: Request) -> JSONResponse:
    source = auth.password_source()
    guard = auth.authenticator()
    cookie = _cookie_of(request)
    authenticated = guard is None or guard.valid_cookie(cookie)
    body = {
        "auth_required": guard is not None,
        "authenticated": authenticated,
        "password_source": source,
    }
    if guard is not None and authenticated:
        body["csrf_token"] = guard.csrf_token(cookie)
    return JSONResponse(body, headers=NO_STORE)


@router.post(
    "/api/auth/login",
    summary="Log in with the server's password",
    response_model=replies.LoggedIn,
    responses=errors(429),
)
def login(body: Login, request: Request) -> JSONResponse:
    guard = auth.authenticator()
    if guard is None:
        raise BadRequest("This server has no password; there is nothing to log in to")
    client = _client(request)
    if guard.throttled(client):
        return JSONResponse({"error": "Too many wrong passwords; wait a minute"}, status_code=429)
    if not guard.check_password(body.password, client):
        return JSONResponse({"error": "Wrong password"}, status_code=401)
    return _logged_in(guard, request, {"ok": True})


@router.post("/api/auth/logout", summary="End this browser's session", response_model=replies.Ok)
def logout(request: Request) -> JSONResponse:
    guard = auth.authenticator()
    if guard is not None:
        guard.end_session(_cookie_of(request))
    return _logged_out({"ok": True})


@router.post(
    "/api/auth/password",
    summary="Set, change or remove the web UI password",
    response_model=replies.PasswordChanged,
    responses=errors(409, 429),
)
def change_password(body: PasswordChange, request: Request) -> JSONResponse:
    guard = auth.shared()
    guard.change_password(body.current, body.new, _client(request))
    if body.new is None:
        return _logged_out({"ok": True, "auth_required": False, "password_source": None})
    now_set = {"ok": True, "auth_required": True, "password_source": "settings"}
    return _logged_in(guard, request, now_set)
