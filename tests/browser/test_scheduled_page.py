"""The Scheduled page, opened from the sidebar, in a real Chromium against a real server whose
model is the scripted fake: a job made through the form (the schedule read back in words as
it is typed, a bad one refused inline), listed with its next run, run now with its answer in
the history and its conversation opened in the main view and listed under "Scheduled",
paused, resumed and deleted; the notice (or a granted browser notification) of a run
delivered to the web; hostile text shown as text; the page at phone width."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from tests.browser.chat_support import ANSWERS, WAIT, open_app
from tests.browser.test_accessibility import AA_TEXT, LOW_CONTRAST_TEXT
from tests.fakes.openai_server import Reply
from tests.support import ServerProcess, request

HOSTILE = "<img src=x onerror=window.pwned=1>"
# A stand-in for the browser's notifications, allowed: it records what the page shows.
FAKE_NOTIFICATION = """
window.shown = [];
window.Notification = class {
  static permission = "granted";
  static requestPermission() { return Promise.resolve("granted"); }
  constructor(title, options) {
    this.title = title; this.options = options; this.listeners = [];
    window.shown.push(this);
  }
  addEventListener(kind, fn) { this.listeners.push(fn); }
  close() {}
};
"""


@pytest.fixture
def server(chat_server: ServerProcess) -> ServerProcess:
    """The chat server without scheduled jobs at the start of each test."""
    for job in request(chat_server.base, "GET", "/api/cron/jobs").json["jobs"]:
        request(chat_server.base, "POST", "/api/cron/job/delete", {"id": job["id"]})
    return chat_server


def open_scheduled(page: Page):
    open_app(page)
    if page.locator("#sidebar-toggle").is_visible():  # a phone: the button is in the drawer
        page.get_by_role("button", name="Show conversations").click()
    page.get_by_role("button", name="Scheduled", exact=True).click()
    dialog = page.get_by_role("dialog", name="Scheduled")
    expect(dialog).to_be_visible()
    return dialog


def job_card(dialog, name: str):
    return dialog.locator("li.cron-job").filter(has=dialog.page.get_by_role("heading", name=name))


def wait_for_runs(server: ServerProcess, job_id: str) -> dict:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        runs = request(server.base, "GET", f"/api/cron/runs?job_id={job_id}").json["runs"]
        if runs and runs[0]["status"] != "running":
            return runs[0]
        time.sleep(0.1)
    raise AssertionError("the run did not finish")


def test_a_job_is_made_in_the_form_run_now_paused_resumed_and_deleted(
    chat_page, server, fake_llm, chat_page_errors
):
    dialog = open_scheduled(chat_page)
    expect(dialog.get_by_text("No scheduled job yet.")).to_be_visible()
    dialog.get_by_role("button", name="New job").click()
    expect(dialog.get_by_label("Name", exact=True)).to_be_focused()
    dialog.get_by_label("Name", exact=True).fill("Harbour digest")
    dialog.get_by_label("Prompt").fill("Summarise the harbour log.")
    schedule = dialog.get_by_label("Schedule", exact=True)
    schedule.press_sequentially("61 8 * * *")
    expect(dialog.get_by_role("alert").first).to_contain_text("is not a cron expression")
    expect(schedule).to_have_attribute("aria-invalid", "true")
    schedule.fill("")
    schedule.press_sequentially("0 8 * * 1-5")
    reading = dialog.locator(".cron-reading")
    expect(reading).to_contain_text("At 08:00, Monday through Friday")
    expect(reading.locator("li")).to_have_count(3)
    expect(schedule).to_have_attribute("aria-invalid", "false")
    dialog.get_by_role("button", name="Save").click()

    card = job_card(dialog, "Harbour digest")
    expect(card.locator(".cron-when")).to_contain_text("At 08:00, Monday through Friday")
    expect(card.locator(".cron-next")).to_contain_text("Next run:")
    expect(card.locator(".cron-last")).to_have_text("Not run yet.")
    expect(card.get_by_role("button", name="Run now Harbour digest")).to_be_focused()

    fake_llm.script(Reply.text("Summary: all quiet."))
    card.get_by_role("button", name="Run now Harbour digest").click()
    run = card.locator("li.cron-run").first
    expect(run.locator(".cron-status")).to_have_text("Answered", timeout=WAIT)
    expect(run).to_contain_text("Delivered: web")
    expect(card.locator(".cron-last .cron-status")).to_have_text("Answered")
    expect(chat_page.locator(".cron-toast")).to_contain_text("Summary: all quiet.")

    run.get_by_role("button", name="Open the conversation of the run").click()
    expect(dialog).to_be_hidden()
    expect(chat_page.locator(ANSWERS).last).to_have_text("Summary: all quiet.")
    expect(chat_page.locator("#chat-title")).to_contain_text("Harbour digest")
    scheduled = chat_page.get_by_role("region", name="Scheduled", exact=True)
    expect(scheduled.locator(".session-title")).to_contain_text(["Harbour digest"])

    dialog = open_scheduled(chat_page)
    card = job_card(dialog, "Harbour digest")
    card.get_by_role("button", name="Pause Harbour digest").click()
    expect(card.locator(".cron-state")).to_have_text("Paused")
    expect(card.get_by_role("button", name="Resume Harbour digest")).to_be_focused()
    card.get_by_role("button", name="Resume Harbour digest").click()
    expect(card.locator(".cron-next")).to_contain_text("Next run:")

    card.get_by_role("button", name="Delete Harbour digest…").click()
    chat_page.get_by_role("dialog", name="Delete Harbour digest?").get_by_role(
        "button", name="Delete"
    ).click()
    expect(dialog.get_by_text("No scheduled job yet.")).to_be_visible()
    assert request(server.base, "GET", "/api/cron/jobs").json["jobs"] == []
    assert chat_page_errors.uncaught == []


def test_a_job_whose_answers_cannot_be_delivered_yet_is_saved_with_the_reason(
    chat_page, server, chat_page_errors
):
    dialog = open_scheduled(chat_page)
    dialog.get_by_role("button", name="New job").click()
    dialog.get_by_label("Name", exact=True).fill("Nightly build")
    dialog.get_by_label("Prompt").fill("How did the build go?")
    dialog.get_by_label("Schedule", exact=True).fill("every 1d")
    dialog.get_by_label("Send the answer to").select_option("webhook")
    dialog.get_by_label("Webhook name").fill("nightly")
    dialog.get_by_role("button", name="Save").click()

    expect(job_card(dialog, "Nightly build")).to_be_visible()
    said = dialog.get_by_role("status")
    expect(said).to_have_text(
        "Saved, but answers cannot be delivered yet: the webhook 'nightly' has no callback_url."
    )
    expect(said).to_have_class(re.compile(r"\bis-error\b"))
    assert chat_page_errors.uncaught == []


def test_a_granted_notification_opens_the_runs_conversation(browser, server, fake_llm):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=server.base)
    context.add_init_script(FAKE_NOTIFICATION)
    page = context.new_page()
    try:
        open_app(page)  # the first look remembers the moment: earlier runs are not announced
        job = request(
            server.base,
            "POST",
            "/api/cron/job/save",
            {"name": "Tide check", "prompt": "Check the tide.", "schedule": "every 1d"},
        ).json["job"]
        fake_llm.script(Reply.text("High tide at 14:05."))
        request(server.base, "POST", "/api/cron/job/run", {"id": job["id"]})
        run = wait_for_runs(server, job["id"])
        page.evaluate("() => document.dispatchEvent(new Event('visibilitychange'))")
        page.wait_for_function("() => window.shown.length === 1")
        assert page.evaluate("() => [shown[0].title, shown[0].options.body]") == [
            "⏰ Tide check",
            "High tide at 14:05.",
        ]
        page.evaluate("() => shown[0].listeners[0]()")
        expect(page.locator(ANSWERS).last).to_have_text("High tide at 14:05.")
        assert run["session_id"] in page.url
        page.reload()
        open_app(page)
        assert page.evaluate("() => window.shown.length") == 0, "announced once"
    finally:
        context.close()


def test_hostile_text_is_shown_as_text_and_the_page_fits_a_phone(chat_page, server):
    request(
        server.base,
        "POST",
        "/api/cron/job/save",
        {"name": HOSTILE, "prompt": HOSTILE, "schedule": "every 2h", "deliver": "webhook:x"},
    )
    chat_page.emulate_media(color_scheme="dark")
    chat_page.set_viewport_size({"width": 375, "height": 700})
    dialog = open_scheduled(chat_page)
    card = job_card(dialog, HOSTILE)
    expect(card.locator(".cron-deliver")).to_have_text("Answers go to webhook:x")
    expect(card.locator(".cron-when")).to_have_text("Every 2 hours")
    assert chat_page.evaluate("() => document.documentElement.scrollWidth") <= 375
    assert dialog.evaluate("(d) => d.scrollWidth <= d.clientWidth")
    assert chat_page.evaluate(LOW_CONTRAST_TEXT, AA_TEXT)["found"] == []

    card.get_by_role("button", name=f"Edit {HOSTILE}").click()
    expect(dialog.get_by_label("Prompt")).to_have_value(HOSTILE)
    expect(dialog.get_by_label("Send the answer to")).to_have_value("webhook")
    expect(dialog.get_by_label("Webhook name")).to_have_value("x")
    unlabelled = dialog.evaluate(
        """(node) => [...node.querySelectorAll("input, textarea, select")]
            .filter((field) => field.labels.length === 0).map((field) => field.id)"""
    )
    assert unlabelled == []
    assert chat_page.evaluate("() => document.documentElement.scrollWidth") <= 375
    dialog.get_by_role("button", name="Cancel").click()
    expect(card.get_by_role("button", name=f"Edit {HOSTILE}")).to_be_focused()
    assert chat_page.locator("img[src=x]").count() == 0
    assert chat_page.evaluate("() => window.pwned") is None
