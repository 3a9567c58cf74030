"""First browser checks: the server answers a real browser, and the web UI loads cleanly."""

from __future__ import annotations

import json

from tests.conftest import TEST_BASE, _post

HOSTILE = (
    "<img src=x onerror=alert(1)> [x](javascript:alert(1)) <script>alert(2)</script> "
    "[y](JaVaScRiPt:alert(4))"
)
ICON = "/static/favicon.svg"


def test_health_renders_as_json(page, page_errors):
    response = page.goto(TEST_BASE + "/health")
    assert response is not None
    assert response.status == 200
    assert "application/json" in response.headers.get("content-type", "")

    body = json.loads(page.locator("pre").first.inner_text())
    assert body["status"] == "ok"
    assert isinstance(body["version"], str) and body["version"]
    assert page_errors.uncaught == []


def test_home_page_loads_without_errors(page, page_errors, screenshot_dir):
    response = page.goto(TEST_BASE + "/", wait_until="load")
    assert response is not None
    assert response.status == 200
    assert "text/html" in response.headers.get("content-type", "")
    page.wait_for_load_state("networkidle")

    assert "Hermes" in page.title()
    assert page_errors.uncaught == [], page_errors.uncaught
    assert page_errors.console == [], page_errors.console

    page.screenshot(path=str(screenshot_dir / "home.png"), full_page=True)
    assert (screenshot_dir / "home.png").stat().st_size > 0


def test_hostile_markup_in_titles_and_messages_renders_inert(
    page, page_errors, cleanup_test_sessions
):
    imported = _post(
        TEST_BASE,
        "/api/session/import",
        {
            "title": "Trip " + HOSTILE,
            "messages": [
                {"role": "user", "content": "Hello " + HOSTILE},
                {"role": "assistant", "content": "See [x](javascript:alert(3)) and " + HOSTILE},
            ],
        },
    )
    sid = imported["session"]["session_id"]
    cleanup_test_sessions.append(sid)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    page.goto(f"{TEST_BASE}/#session={sid}", wait_until="load")
    page.wait_for_load_state("networkidle")
    page.get_by_text("See", exact=False).first.wait_for(timeout=5000)

    row = page.locator(f'#session-list .session[data-id="{sid}"]')
    row.wait_for()

    assert dialogs == []
    assert page.locator("img").count() == 0
    assert page.locator("body script").count() == 0
    assert page.locator("a[href^='javascript' i]").count() == 0
    assert "onerror=alert(1)" in row.inner_text(), "the title is shown as text in the sidebar"
    assert "[x](javascript:alert(1))" in page.locator("#chat-title").inner_text()
    assert "onerror=alert(1)" in page.locator("#messages").inner_text(), "shown as text"
    page.fill("#session-search", "onerror")
    page.locator("#session-list mark").first.wait_for()
    assert page.locator("img").count() == 0
    assert dialogs == []
    assert page_errors.uncaught == []


def test_the_app_shows_its_favicon_and_the_browser_asks_for_nothing_missing(page, page_errors):
    failures: list[str] = []
    page.on("response", lambda r: failures.append(f"{r.status} {r.url}") if r.status >= 400 else 0)
    page.on("requestfailed", lambda r: failures.append(f"{r.failure} {r.url}"))
    with page.expect_response(TEST_BASE + ICON) as asked:
        page.goto(TEST_BASE + "/", wait_until="load")
    assert asked.value.status == 200
    assert asked.value.header_value("content-type") == "image/svg+xml"
    page.wait_for_load_state("networkidle")
    assert failures == []
    assert page_errors.console == [] and page_errors.uncaught == []
