"""Project routes: list, create, rename, delete (which unassigns its sessions)."""

from __future__ import annotations

from fastapi import APIRouter

from api import models, projects, replies, session_ops
from api.openapi_extras import errors
from api.responses import JSONResponse
from api.schemas import ProjectCreate, ProjectRef, ProjectRename

router = APIRouter(tags=["projects"])


@router.get("/api/projects", summary="Every project", response_model=replies.ProjectList)
def list_projects() -> JSONResponse:
    return JSONResponse({"projects": projects.list_projects()})


@router.post(
    "/api/projects/create", summary="Create a project", response_model=replies.ProjectSaved
)
def create(body: ProjectCreate) -> JSONResponse:
    return JSONResponse({"ok": True, "project": projects.create_project(body.name, body.color)})


@router.post(
    "/api/projects/rename",
    summary="Rename or recolour a project",
    response_model=replies.ProjectSaved,
    responses=errors(404),
)
def rename(body: ProjectRename) -> JSONResponse:
    project = projects.rename_project(body.project_id, body.name, body.color)
    return JSONResponse({"ok": True, "project": project})


@router.post(
    "/api/projects/delete",
    summary="Delete a project; its sessions stay, unassigned",
    response_model=replies.Ok,
    responses=errors(404),
)
def delete(body: ProjectRef) -> JSONResponse:
    projects.delete_project(body.project_id)
    for row in models.index_rows():
        if row.get("project_id") == body.project_id:
            session_ops.move_to_project(row["session_id"], None)
    return JSONResponse({"ok": True})
