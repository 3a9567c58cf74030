"""Links between operations in `/openapi.json`: which reply's id feeds which request.

A client (or a fuzzer following links) learns from them that the `session_id` a new session
comes back with is what the session routes take, and so on. Targets are found in the schema
itself: every operation taking an id by its name, as a query parameter or a body field, is
linked from every reply that carries one. Body links name only the id; the rest of the body
is the caller's (tools that follow links merge the two).
"""

from __future__ import annotations

import re
from typing import Any

# Replies that carry an id, by operation: the id's name → a JSON pointer into the reply.
ID_SOURCES: dict[tuple[str, str], dict[str, str]] = {
    ("post", "/api/session/new"): {"session_id": "/session/session_id"},
    ("post", "/api/session/import"): {"session_id": "/session/session_id"},
    ("post", "/api/chat/start"): {"stream_id": "/stream_id"},
    ("post", "/api/projects/create"): {"project_id": "/project/project_id"},
}

Target = tuple[str, str, str]  # method, path, "query" or "body"


def add_links(schema: dict[str, Any]) -> None:
    takers = _operations_taking(schema)
    for (method, path), ids in ID_SOURCES.items():
        links = schema["paths"][path][method]["responses"]["200"].setdefault("links", {})
        for name, pointer in ids.items():
            for target in takers.get(name, []):
                if target[:2] != (method, path):
                    links[_link_name(target)] = _link(target, name, "$response.body#" + pointer)


def _operations_taking(schema: dict[str, Any]) -> dict[str, list[Target]]:
    found: dict[str, list[Target]] = {}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query":
                    found.setdefault(parameter["name"], []).append((method, path, "query"))
            for name in _body_fields(schema, operation):
                found.setdefault(name, []).append((method, path, "body"))
    return found


def _body_fields(schema: dict[str, Any], operation: dict[str, Any]) -> list[str]:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    reference = content.get("schema", {}).get("$ref", "")
    if not reference.startswith("#/components/schemas/"):
        return []
    body = schema["components"]["schemas"][reference.rpartition("/")[2]]
    return list(body.get("properties", {}))


def _link_name(target: Target) -> str:
    method, path, _ = target
    return re.sub(r"[^A-Za-z0-9]+", "_", f"{method}{path}")


def _link(target: Target, name: str, expression: str) -> dict[str, Any]:
    method, path, where = target
    reference = "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method
    if where == "query":
        return {"operationRef": reference, "parameters": {f"query.{name}": expression}}
    return {"operationRef": reference, "requestBody": {name: expression}}
