"""Skills from the browser: list, read, save, delete, turn on and off, and zips in and out.

Every name and path goes through `SkillLibrary`, the same confinement the agent's skill tools
have: a name is lowercase letters, digits and dashes (400 otherwise), and an unknown skill is
a 404.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Query, Request, Response

from api import archive_import, replies, skill_archive, skill_catalog
from api.openapi_extras import errors, required_query
from api.responses import NO_STORE, JSONResponse
from api.schemas import SKILL_NAME, SkillRef, SkillSave, SkillSwitch
from hermes_agent.errors import BadRequest

router = APIRouter(tags=["skills"])

NAME_QUERY = {
    "parameters": [required_query("name", "The skill's name.", {"type": "string", **SKILL_NAME})]
}
ZIP = {"application/zip": {"schema": {"type": "string", "format": "binary"}}}
ZIP_BODY = {"requestBody": {"required": True, "content": ZIP}}
ZIP_REPLY = {
    "description": "A zip of the skill's folder: `<name>/SKILL.md` and its other files",
    "content": ZIP,
    "headers": {"Content-Disposition": {"schema": {"type": "string"}}},
}


def _name(name: str | None) -> str:
    if not name:
        raise BadRequest("name is required")
    return name


@router.get(
    "/api/skills",
    summary="Every skill, those turned off included, and the folders that do not parse",
    response_model=replies.SkillList,
)
def list_skills() -> JSONResponse:
    return JSONResponse(skill_catalog.listing(skill_catalog.library()), headers=NO_STORE)


@router.get(
    "/api/skill",
    summary="One skill: its SKILL.md as on disk, front matter, switch and files",
    response_model=replies.SkillDetail,
    responses=errors(404),
    openapi_extra=NAME_QUERY,
)
def read_skill(name: str | None = Query(None, include_in_schema=False)) -> JSONResponse:
    detail = skill_catalog.detail(skill_catalog.library(), _name(name))
    return JSONResponse(detail, headers=NO_STORE)


@router.post(
    "/api/skill/save",
    summary="Create a skill or replace its SKILL.md (it must parse)",
    response_model=replies.SkillSaved,
)
def save_skill(body: SkillSave) -> JSONResponse:
    return JSONResponse(skill_catalog.save(skill_catalog.library(), body.name, body.content))


@router.post(
    "/api/skill/delete",
    summary="Delete a skill's folder",
    response_model=replies.Ok,
    responses=errors(404),
)
def delete_skill(body: SkillRef) -> JSONResponse:
    skill_catalog.delete(skill_catalog.library(), body.name)
    return JSONResponse({"ok": True})


@router.post(
    "/api/skill/enable",
    summary="Turn a skill on or off (off: kept, but out of the prompt and slash commands)",
    response_model=replies.SkillSwitched,
    responses=errors(404),
)
def switch_skill(body: SkillSwitch) -> JSONResponse:
    return JSONResponse(skill_catalog.switch(skill_catalog.library(), body.name, body.enabled))


@router.post(
    "/api/skills/import",
    summary="Take skills from a zip of one skill folder or several",
    response_model=replies.SkillsImported,
    responses=errors(400, 413),
    openapi_extra=ZIP_BODY,
)
async def import_skills(
    request: Request,
    overwrite: bool = Query(False, description="Replace skills of the same name."),
) -> JSONResponse:
    spool = await archive_import.receive(request, skill_archive.MAX_ARCHIVE_BYTES)
    library = await asyncio.to_thread(skill_catalog.library)
    restored = await asyncio.to_thread(skill_archive.restore, spool, library, overwrite=overwrite)
    return JSONResponse(restored)


@router.get(
    "/api/skill/export",
    summary="Download a skill's folder as a zip",
    response_class=Response,
    responses={200: ZIP_REPLY, **errors(404)},
    openapi_extra=NAME_QUERY,
)
def export_skill(name: str | None = Query(None, include_in_schema=False)) -> Response:
    skills = skill_catalog.library()
    skill_catalog.existing(skills, _name(name))
    headers = {**NO_STORE, "Content-Disposition": f'attachment; filename="{name}.zip"'}
    return Response(
        skill_archive.export(skills, name), media_type="application/zip", headers=headers
    )
