"""Logging in and out in a real browser, the CSRF and origin checks behind it, and a password
set, changed and removed from the settings dialog."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.pages import Contexts, wait_until_loaded
from tests.support import ServerProcess

PASSWORD = "browser test password"
NEW_PASSWORD = "set from the dialog"
OTHER_PASSWORD = "changed in the dialog"
EVIL = "http://evil.example"


@pytest.fixture(scope="module")
def locked_server(tmp_path_factory):
    """A server whose password comes from HERMES_WEBUI_PASSWORD."""
    process = ServerProcess(
        tmp_path_factory.mktemp("ui-locked"), extra_env={"HERMES_WEBUI_PASSWORD": PASSWORD}
    )
    process.start()
    yield process
    process.stop()


@pytest.fixture
def contexts(browser, locked_server):
    opened = Contexts(browser, locked_server.base)
    yield opened
    opened.close()


def log_in(page, password: str = PASSWORD) -> None:
    page.goto("/")
    page.wait_for_url("**/login")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def expect_the_app(page, base: str) -> None:
    page.wait_for_url(base + "/")
    expect(page.get_by_role("button", name="New chat")).to_be_visible()
    wait_until_loaded(page)


def session_cookies(page) -> list[dict]:
    return [c for c in page.context.cookies() if c["name"] == "hermes_session"]


def csrf_token(page) -> str:
    return page.request.get("/api/auth/status").json()["csrf_token"]


def open_settings(page):
    page.get_by_role("button", name="Settings").click()
    dialog = page.get_by_role("dialog", name="Settings")
    expect(dialog).to_be_visible()
    return dialog


def test_the_app_needs_a_login_and_logging_out_locks_the_api_again(contexts, locked_server):
    page = contexts.page()
    log_in(page, "not the password")
    expect(page.locator("#login-error")).to_have_text("Wrong password")
    assert page.url == locked_server.base + "/login"
    assert session_cookies(page) == []
    assert page.request.get("/api/sessions").status == 401

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect_the_app(page, locked_server.base)
    [cookie] = session_cookies(page)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.request.get("/api/sessions").status == 200

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login")
    assert session_cookies(page) == []
    assert page.request.get("/api/sessions").status == 401
    page.goto("/")
    page.wait_for_url("**/login")
    assert contexts.uncaught == []


def test_a_locked_page_goes_to_the_login_once_however_many_requests_are_refused(
    contexts, locked_server
):
    """The page's first requests are all refused at once; each refusal sends the page to the
    login, and a second navigation there would abort the first one."""
    page = contexts.page()
    held: list = []

    def hold_until_two(route) -> None:
        if len(held) < 2:
            held.append(route)
        else:
            route.continue_()

    page.route("**/api/**", hold_until_two)
    logins: list[str] = []
    page.on(
        "request",
        lambda r: (
            logins.append(r.url)
            if r.resource_type == "document" and r.url.endswith("/login")
            else None
        ),
    )
    page.goto("/", wait_until="commit")
    while len(held) < 2:
        page.wait_for_timeout(20)
    for route in held:
        route.continue_()
    page.wait_for_url("**/login")
    expect(page.get_by_label("Password")).to_be_visible()
    page.wait_for_timeout(300)
    assert len(logins) == 1, logins


def test_writes_without_the_csrf_header_are_refused_while_the_uis_own_succeed(
    contexts, locked_server
):
    page = contexts.page()
    log_in(page)
    expect_the_app(page, locked_server.base)
    bare = page.request.post("/api/session/new", data={})
    assert bare.status == 403 and "CSRF" in bare.json()["error"]
    from_the_page = page.evaluate(
        """async () => {
            const reply = await fetch("/api/session/new", {
                method: "POST", headers: {"Content-Type": "application/json"}, body: "{}",
            });
            return [reply.status, (await reply.json()).error];
        }"""
    )
    assert from_the_page[0] == 403 and "CSRF" in from_the_page[1]

    dialog = open_settings(page)
    dialog.get_by_label("Model", exact=True).fill("model-saved-by-the-ui")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.locator("#settings-result")).to_have_text("Saved.")
    assert page.request.get("/api/settings").json()["model"] == "model-saved-by-the-ui"
    assert contexts.uncaught == []


def test_a_post_from_another_origin_is_refused_even_with_the_token(contexts, locked_server):
    page = contexts.page()
    log_in(page)
    expect_the_app(page, locked_server.base)
    token = csrf_token(page)
    foreign = page.request.post(
        "/api/session/new", data={}, headers={"Origin": EVIL, "X-Hermes-CSRF": token}
    )
    assert foreign.status == 403 and foreign.json()["error"] == "Cross-origin request rejected"
    own = page.request.post(
        "/api/session/new",
        data={},
        headers={"Origin": locked_server.base, "X-Hermes-CSRF": token},
    )
    assert own.status == 200
    assert contexts.uncaught == []


def test_a_password_from_the_environment_is_not_changeable_in_the_dialog(contexts, locked_server):
    page = contexts.page()
    log_in(page)
    expect_the_app(page, locked_server.base)
    dialog = open_settings(page)
    expect(dialog.locator("#password-state")).to_contain_text("HERMES_WEBUI_PASSWORD")
    expect(dialog.get_by_label("New password", exact=True)).to_be_hidden()
    expect(dialog.get_by_role("button", name="Remove password")).to_be_hidden()
    refused = page.request.post(
        "/api/auth/password",
        data={"current": PASSWORD, "new": NEW_PASSWORD},
        headers={"X-Hermes-CSRF": csrf_token(page)},
    )
    assert refused.status == 409 and "HERMES_WEBUI_PASSWORD" in refused.json()["error"]
    assert contexts.uncaught == []


# ── a password set from the settings dialog ──────────────────────────────────────────────
@pytest.fixture
def open_server(tmp_path):
    """A server started without a password: the dialog sets one."""
    process = ServerProcess(tmp_path)
    process.start()
    yield process
    process.stop()


def fill_password_form(dialog, new: str, confirm: str | None = None, current: str | None = None):
    if current is not None:
        dialog.get_by_label("Current password").fill(current)
    dialog.get_by_label("New password", exact=True).fill(new)
    dialog.get_by_label("Confirm the new password").fill(new if confirm is None else confirm)


def test_a_password_set_in_the_dialog_locks_other_browsers_but_not_this_one(browser, open_server):
    contexts = Contexts(browser, open_server.base)
    try:
        owner = contexts.page()
        owner.goto("/")
        expect_the_app(owner, open_server.base)
        expect(owner.get_by_role("button", name="Log out")).to_be_hidden()
        dialog = open_settings(owner)
        result = dialog.locator("#password-result")
        expect(dialog.locator("#password-state")).to_contain_text("No password")
        expect(dialog.get_by_label("Current password")).to_be_hidden()
        expect(dialog.get_by_role("button", name="Remove password")).to_be_hidden()

        fill_password_form(dialog, NEW_PASSWORD, confirm=NEW_PASSWORD + "!")
        dialog.get_by_role("button", name="Set password").click()
        expect(result).to_have_text("The two new passwords do not match.")
        fill_password_form(dialog, "short")
        dialog.get_by_role("button", name="Set password").click()
        expect(result).to_contain_text("at least 8 characters")
        assert owner.request.get("/api/auth/status").json()["auth_required"] is False

        fill_password_form(dialog, NEW_PASSWORD)
        dialog.get_by_role("button", name="Set password").click()
        expect(result).to_contain_text("Password saved")
        expect(owner.get_by_role("button", name="Log out")).to_be_visible()
        expect(dialog.get_by_label("Current password")).to_be_visible()
        status = owner.request.get("/api/auth/status").json()
        assert status["auth_required"] and status["authenticated"]
        assert status["password_source"] == "settings"
        # This page's own writes keep working without a reload: it has the new CSRF token.
        dialog.get_by_role("button", name="Save").click()
        expect(dialog.locator("#settings-result")).to_have_text("Saved.")
        owner.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        owner.reload()
        expect_the_app(owner, open_server.base)

        other = contexts.page()
        other.goto("/")
        other.wait_for_url("**/login")
        other.get_by_label("Password").fill(NEW_PASSWORD)
        other.get_by_role("button", name="Log in").click()
        expect_the_app(other, open_server.base)

        dialog = open_settings(owner)
        result = dialog.locator("#password-result")
        fill_password_form(dialog, OTHER_PASSWORD, current="not the password")
        dialog.get_by_role("button", name="Change password").click()
        expect(result).to_have_text("Wrong current password")
        expect(result).to_have_class("result is-error")
        fill_password_form(dialog, OTHER_PASSWORD, current=NEW_PASSWORD)
        dialog.get_by_role("button", name="Change password").click()
        expect(result).to_contain_text("Password saved")
        assert other.request.get("/api/sessions").status == 401, "its cookie is void now"
        other.reload()
        other.wait_for_url("**/login")
        assert owner.request.get("/api/sessions").status == 200

        dialog.get_by_label("Current password").fill(OTHER_PASSWORD)
        dialog.get_by_role("button", name="Remove password").click()
        expect(result).to_contain_text("Password removed")
        expect(owner.get_by_role("button", name="Log out")).to_be_hidden()
        assert not (open_server.state_dir / "password.json").exists()
        stranger = contexts.page()
        stranger.goto("/")
        expect_the_app(stranger, open_server.base)
        other.goto("/login")
        expect_the_app(other, open_server.base)
        assert contexts.uncaught == []
    finally:
        contexts.close()


def test_another_tab_keeps_writing_after_this_one_sets_a_password(browser, open_server):
    contexts = Contexts(browser, open_server.base)
    try:
        first = contexts.page()
        first.goto("/")
        expect_the_app(first, open_server.base)
        second = first.context.new_page()
        second.on("pageerror", lambda exc: contexts.uncaught.append(str(exc)))
        second.goto("/")
        expect_the_app(second, open_server.base)
        assert "csrf_token" not in second.request.get("/api/auth/status").json()

        dialog = open_settings(first)
        fill_password_form(dialog, NEW_PASSWORD)
        dialog.get_by_role("button", name="Set password").click()
        expect(dialog.locator("#password-result")).to_contain_text("Password saved")

        # The second tab shares the new cookie but still holds the old CSRF token: its next
        # write is refused once, fetches the current token and goes through.
        other = open_settings(second)
        other.get_by_label("Base URL").fill("http://127.0.0.1:9/v1")
        other.get_by_role("button", name="Save").click()
        expect(other.locator("#settings-result")).to_have_text("Saved.")
        saved = second.request.get("/api/settings").json()
        assert saved["base_url"] == "http://127.0.0.1:9/v1"
        assert contexts.uncaught == []
    finally:
        contexts.close()
