"""Liveness for launchers, monitors and the test harness."""

from __future__ import annotations

import time

from fastapi import APIRouter

from api import __version__, agent_runtime, config, replies
from api.responses import NO_STORE, JSONResponse

router = APIRouter(tags=["health"])


@router.get("/health", summary="Whether the server is up", response_model=replies.Health)
def health() -> JSONResponse:
    return JSONResponse(
        {
            "status": "ok",
            "version": __version__,
            "sessions": len(config.SESSIONS),
            "active_streams": len(config.STREAMS),
            "uptime_seconds": round(time.time() - config.SERVER_START_TIME, 1),
            "store": agent_runtime.store_health(),
        },
        headers=NO_STORE,
    )
