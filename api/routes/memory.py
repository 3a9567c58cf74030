"""The agent's memory from the browser: read both files, save the user's edit, clear them.

Memory is on or off through the `memory` setting (`POST /api/settings`); these routes show
and change the files either way.
"""

from __future__ import annotations

from fastapi import APIRouter

from api import agent_runtime, memory_page, replies
from api.responses import NO_STORE, JSONResponse
from api.schemas import MemoryClear, MemoryEdit
from hermes_agent.tools.memory_tool import memory_store

router = APIRouter(tags=["memory"])


def _view() -> dict:
    return memory_page.view(memory_store(), agent_runtime.current_settings().memory)


@router.get(
    "/api/memory",
    summary="Both memory files: entries, the text to edit, and how full each is",
    response_model=replies.MemoryView,
)
def read_memory() -> JSONResponse:
    return JSONResponse(_view(), headers=NO_STORE)


@router.post(
    "/api/memory",
    summary="Save the user's edit of one memory file (held to its limit)",
    response_model=replies.MemorySaved,
)
def save_memory(body: MemoryEdit) -> JSONResponse:
    saved = memory_page.save(memory_store(), body.target, body.text)
    return JSONResponse({"ok": True, **saved})


@router.post(
    "/api/memory/clear",
    summary="Empty one memory file, or both",
    response_model=replies.MemoryCleared,
)
def clear_memory(body: MemoryClear) -> JSONResponse:
    memory_page.clear(memory_store(), body.target)
    return JSONResponse({"ok": True, **_view()})
