"""Login, logout and the auth status the UI asks for first."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request

from api import auth
from api.responses import NO_STORE, JSONResponse
from api.schemas import Login
from hermes_agent.errors import BadRequest

router = APIRouter(tags=["auth"])


def _cookie_of(request: Request) -> str | None:
    return request.cookies.get(auth.COOKIE_NAME)


@router.get(
    "/api/auth/status", summary="Whether a password is required and whether you have a session"
)
def status(request: Request) -> JSONResponse:
    guard = auth.authenticator()
    cookie = _cookie_of(request)
    authenticated = guard is None or guard.valid_cookie(cookie)
    body = {"auth_required": guard is not None, "authenticated": authenticated}
    if guard is not None and authenticated:
        body["csrf_token"] = guard.csrf_token(cookie)
    return JSONResponse(body, headers=NO_STORE)


@router.post("/api/auth/login", summary="Log in with the server's password")
def login(body: Login, request: Request) -> JSONResponse:
    guard = auth.authenticator()
    if guard is None:
        raise BadRequest("This server has no password; there is nothing to log in to")
    client = request.client.host if request.client else "unknown"
    if guard.throttled(client):
        return JSONResponse({"error": "Too many wrong passwords; wait a minute"}, status_code=429)
    if not guard.check_password(body.password, client):
        return JSONResponse({"error": "Wrong password"}, status_code=401)
    cookie = guard.new_cookie()
    reply = JSONResponse({"ok": True, "csrf_token": guard.csrf_token(cookie)}, headers=NO_STORE)
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


@router.post("/api/auth/logout", summary="End this browser's session")
def logout() -> JSONResponse:
    reply = JSONResponse({"ok": True}, headers=NO_STORE)
    reply.delete_cookie(auth.COOKIE_NAME, path="/", httponly=True, samesite="strict")
    return reply
