"""Accessibility in a real browser: the text contrast of every control, in both themes."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.sidebar_support import imported, load_app, open_menu
from tests.conftest import TEST_BASE
from tests.support import request

AA_TEXT = 4.5
"""WCAG 2 level AA: the contrast ratio of normal-sized text against its background."""

LOW_CONTRAST_TEXT = """(minimum) => {
  const parse = (colour) => {
    const [r, g, b, a = 1] = colour.match(/[\\d.]+/g).map(Number);
    return [r, g, b, a];
  };
  const over = (top, bottom) => [0, 1, 2].map((i) => top[i] * top[3] + bottom[i] * (1 - top[3]));
  const behind = (node) => {
    const layers = [];
    for (let at = node; at; at = at.parentElement) {
      const colour = parse(getComputedStyle(at).backgroundColor);
      if (colour[3] > 0) layers.unshift(colour);
      if (colour[3] >= 1) break;
    }
    return layers.reduce((below, layer) => over(layer, [...below, 1]), [255, 255, 255]);
  };
  const fading = (node) => {
    let opacity = 1;
    for (let at = node; at; at = at.parentElement) opacity *= Number(getComputedStyle(at).opacity);
    return opacity;
  };
  const luminance = (rgb) => {
    const [r, g, b] = rgb.map((c) => {
      const v = c / 255;
      return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (a, b) => {
    const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (light + 0.05) / (dark + 0.05);
  };
  const selector = 'button, a.file-button, label.file-button, [role=menuitem]';
  const shown = (node) => node.checkVisibility({ visibilityProperty: true });
  const controls = [...document.querySelectorAll(selector)]
    .filter((node) => shown(node) && !node.matches(':disabled'));
  const texts = controls.flatMap((control) => [control, ...control.querySelectorAll('*')])
    .filter((node) => shown(node)
      && [...node.childNodes].some((child) => child.nodeType === 3 && child.textContent.trim()));
  const found = [];
  for (const node of new Set(texts)) {
    const colour = parse(getComputedStyle(node).color);
    const background = behind(node);
    const faded = [colour[0], colour[1], colour[2], colour[3] * fading(node)];
    const text = over(faded, [...background, 1]);
    const contrast = ratio(text, background);
    if (contrast < minimum) {
      const name = `${node.textContent.trim().slice(0, 30)} (${node.className})`;
      found.push(`${name}: ${contrast.toFixed(2)}`);
    }
  }
  return { checked: texts.length, found };
}"""
"""The text of every visible, enabled control whose contrast with the colours behind it (its
own opacity and its ancestors' included) is below `minimum`, and how many texts were checked."""


@pytest.fixture
def project():
    reply = request(TEST_BASE, "POST", "/api/projects/create", {"name": "Contrast"})
    pid = reply.json["project"]["project_id"]
    yield pid
    request(TEST_BASE, "POST", "/api/projects/delete", {"project_id": pid})


def assert_readable(page, minimum: float = AA_TEXT) -> None:
    result = page.evaluate(LOW_CONTRAST_TEXT, minimum)
    assert result["checked"] > 5
    assert result["found"] == [], "\n".join(result["found"])


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_every_visible_control_has_text_contrast_of_at_least_aa_in_both_themes(
    page, page_errors, cleanup_test_sessions, project, theme
):
    page.emulate_media(color_scheme=theme)
    answer = "Here it is:\n\n```python\nprint('hi')\n```\n\nAnything else?"
    session = imported(cleanup_test_sessions, "Contrast check", "Show me code", answer)
    sid = session["session_id"]
    request(TEST_BASE, "POST", "/api/session/move", {"session_id": sid, "project_id": project})
    load_app(page, sid=sid)
    expect(page.get_by_role("button", name="Edit your last message")).to_be_visible()
    expect(page.get_by_role("button", name="Copy this answer")).to_be_visible()
    expect(page.locator("#project-list .project-filter")).not_to_have_count(0)
    assert_readable(page)

    menu = open_menu(page, sid)
    assert_readable(page)
    menu.get_by_role("menuitem", name="Delete…").click()
    confirm = page.get_by_role("dialog", name="Delete conversation")
    expect(confirm.get_by_role("button", name="Delete", exact=True)).to_be_visible()
    assert_readable(page)
    confirm.get_by_role("button", name="Cancel").click()

    page.get_by_role("button", name="Settings").click()
    expect(page.get_by_role("dialog", name="Settings")).to_be_visible()
    assert_readable(page)
    assert page_errors.uncaught == []
