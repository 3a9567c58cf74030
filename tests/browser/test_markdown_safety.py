"""Hostile Markdown is inert: raw HTML is text, only http(s) and mailto links survive, images
come only from our own attachments, and TeX cannot link or embed anything."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.markdown_support import BOX, foreign_requests, open_answer, render

# Each line tries to run `window.pwned = n` or to reach another site.
BATTERY = "\n\n".join(
    [
        "<script>window.pwned = 1</script>",
        '<img src=x onerror="window.pwned = 2">',
        "[click](javascript:window.pwned=3) and [case](JaVaScRiPt:window.pwned=4)",
        "[data](data:text/html;base64,PHNjcmlwdD53aW5kb3cucHduZWQ9NTwvc2NyaXB0Pg==)",
        "<javascript:window.pwned=6> and <JAVASCRIPT:window.pwned=6>",
        "[entity](&#106;avascript:window.pwned=7) [hex](&#x6A;avascript:window.pwned=7)",
        "[tab](java&#9;script:window.pwned=8) [nl](<java\nscript:window.pwned=8>)",
        "![img](javascript:window.pwned=9) ![svg](data:image/svg+xml,<svg onload=alert(9)>)",
        '![quote](x" onerror="window.pwned=10)',
        '<a href="javascript:window.pwned=11">x</a> <svg onload="window.pwned=12"></svg>',
        '<iframe src="https://evil.example/"></iframe><style>body{display:none}</style>',
        "[vb](vbscript:msgbox(1)) [file](file:///etc/passwd) [ftp](ftp://evil.example/)",
        "[ref][evil]\n\n[evil]: javascript:window.pwned=13",
        "$\\href{javascript:window.pwned=14}{click}$ and $\\url{javascript:window.pwned=15}$",
        "$\\htmlId{x}{y}$ $\\htmlData{onclick=window.pwned=16}{z}$ $\\htmlStyle{color:red}{w}$",
        "$$\\includegraphics{https://evil.example/x.png}$$",
        "`<b onmouseover=alert(17)>code</b>` and &lt;script&gt;window.pwned=18&lt;/script&gt;",
        "| <img src=x onerror=alert(19)> | [t](javascript:alert(19)) |\n|---|---|\n| a | b |",
        "- [x] <img src=x onerror=alert(20)>\n- <script>window.pwned=20</script>",
    ]
)

# What the rendered box must never hold: a script, a handler, a frame, an image from elsewhere,
# a link that is not http(s) or mailto. KaTeX draws some glyphs as SVG; those are its own.
AUDIT = """(box) => {
  const all = [...box.querySelectorAll('*')];
  return {
    handlers: all.flatMap((n) => [...n.attributes].filter((a) => /^on/i.test(a.name))
      .map((a) => `${n.tagName} ${a.name}`)),
    forbidden: all.filter((n) => /^(script|iframe|object|embed|style|link|form|input|base|meta)$/i
      .test(n.tagName) && !(n.tagName === 'INPUT' && n.type === 'checkbox' && n.disabled))
      .map((n) => n.outerHTML),
    foreignSvg: all.filter((n) => n.tagName.toLowerCase() === 'svg' && !n.closest('.katex'))
      .length,
    images: all.filter((n) => n.tagName === 'IMG').map((n) => n.src),
    hrefs: all.filter((n) => n.hasAttribute('href')).map((n) => n.href),
    links: [...box.querySelectorAll('a')].map((a) => [a.target, a.rel]),
    text: box.textContent,
  };
}"""


def assert_inert(audit: dict) -> None:
    assert audit["handlers"] == []
    assert audit["forbidden"] == []
    assert audit["foreignSvg"] == 0
    assert audit["images"] == []
    assert all(h.startswith(("http://", "https://", "mailto:")) for h in audit["hrefs"]), audit
    assert all(link == ["_blank", "noopener noreferrer nofollow"] for link in audit["links"])
    assert "<script>window.pwned = 1</script>" in audit["text"], "raw HTML is shown as text"


def test_hostile_markdown_renders_inert_and_runs_nothing(page, page_errors):
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    foreign = foreign_requests(page)
    render(page, BATTERY)
    box = page.locator(BOX)
    expect(box.locator(".katex-error, .katex").first).to_be_attached()
    page.wait_for_timeout(500)

    assert_inert(box.evaluate(AUDIT))
    assert page.evaluate("() => window.pwned") is None
    assert dialogs == [] and foreign == []
    assert page_errors.uncaught == []


def test_hostile_markdown_streamed_into_an_answer_runs_nothing(page, cleanup_test_sessions):
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    foreign = foreign_requests(page)
    render(page, "")
    page.evaluate(
        """async (text) => {
          const { markdownStream } = await import('/static/js/markdown.js');
          const update = markdownStream(document.getElementById('rendered'));
          for (let end = 1; end <= text.length; end += 3) update(text.slice(0, end));
          update(text);
        }""",
        BATTERY,
    )
    page.wait_for_timeout(500)
    assert_inert(page.locator(BOX).evaluate(AUDIT))

    page.goto("about:blank")  # a fresh load of the app, not a jump within the page
    open_answer(page, cleanup_test_sessions, BATTERY, question=BATTERY)
    answer = page.locator("#messages .msg-assistant .bubble-body").first
    expect(answer.locator(".katex-error, .katex").first).to_be_attached()
    page.wait_for_timeout(500)
    assert_inert(answer.evaluate(AUDIT))
    assert page.locator("#messages .msg-user").evaluate(AUDIT)["handlers"] == []
    assert page.evaluate("() => window.pwned") is None
    assert dialogs == [] and foreign == []
