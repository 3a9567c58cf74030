"""Docs are part of the feature: a route or setting without documentation fails the suite."""

from __future__ import annotations

import re

from api.app import create_app
from tests.support import REPO_ROOT

API_DOC = (REPO_ROOT / "docs" / "api.md").read_text()
CONFIG_DOC = (REPO_ROOT / "docs" / "configuration.md").read_text()


def _documented_routes() -> set[tuple[str, str]]:
    found = set()
    for heading in re.findall(r"^### (.+)$", API_DOC, flags=re.MULTILINE):
        for method, path in re.findall(r"`(GET|POST) ([^`?]+)", heading):
            found.add((method, path))
    return found


def test_every_route_is_documented_in_the_api_reference():
    documented = _documented_routes()
    served = {
        (method.upper(), path)
        for path, operations in create_app().openapi()["paths"].items()
        for method in operations
    }
    assert len(served) > 20, "expected the schema to describe the session API"
    missing = sorted(f"{m} {p}" for m, p in served - documented)
    assert not missing, f"routes missing from docs/api.md: {missing}"


def test_every_environment_setting_is_documented():
    source = "\n".join(
        p.read_text()
        for package in ("api", "hermes_agent", "hermes_cli", "hermes_cron")
        for p in (REPO_ROOT / package).rglob("*.py")
    )
    settings = set(re.findall(r"\"(HERMES_[A-Z_]+)\"", source))
    assert settings, "expected the server to read HERMES_* settings"
    missing = sorted(name for name in settings if f"`{name}`" not in CONFIG_DOC)
    assert not missing, f"settings missing from docs/configuration.md: {missing}"
