"""Browser UI figures, printed as JSON (medians unless named otherwise).

    .venv/bin/python bench/ui.py [--quick]

A real server (`hermes web` in a subprocess) behind the scripted OpenAI fake, and Debian's
Chromium driven by Playwright, as in the browser tests. Times are taken inside the page with
`performance.now()`, so they include the page's own work but not Playwright's round trips.

- `tti_1000_sessions`: a fresh page load with 1,000 sessions stored, from navigation start
  until the sidebar shows its rows, the chat pane its messages, and the message box accepts
  input. `cold` is the first load of a new browser context (empty cache), `warm` a reload.
- `open_2000_messages`: a click on a 2,000-message session in the sidebar until its last
  message is on screen.
- `stream_200_tps`: a 3,000-token answer streamed by the provider at 200 tokens/s. `fps` is
  animation frames per second while the text streams; `longest_frame_ms` the longest gap
  between frames; `complete_after_done_ms` how long after the run's `done` event the last word
  is on screen (0 when it already was).
- `sidebar_all_rows_loaded`: the list grown to 5,000 sessions and scrolled until every row is
  loaded (100 a page), which keeps them all in the page. Then: frames per second while it
  scrolls 120 px a frame, the layout after a change of the sidebar's width, and a click on a row
  near the end until its conversation's title shows.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

# First: puts the repository on sys.path and sets HERMES_HOME for the imports below.
from common import Client
from playwright.sync_api import Page, sync_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.support import ServerProcess, fake_provider_env

TARGETS = {"tti_ms": 1000.0, "open_session_ms": 500.0, "fps": 50.0, "complete_after_done_ms": 100.0}
LAST_WORD = "lighthouse-end"

# Installed before any page script: records when the run's `done` event arrives, and counts
# animation frames while `window.__frames` is switched on.
PAGE_PROBES = """
(() => {
  const listen = EventSource.prototype.addEventListener;
  window.__doneAt = null;
  EventSource.prototype.addEventListener = function (type, handler, options) {
    const wrapped = type === "done"
      ? function (event) { window.__doneAt = performance.now(); return handler.call(this, event); }
      : handler;
    return listen.call(this, type, wrapped, options);
  };
  window.__frames = null;
  const tick = (now) => {
    if (window.__frames) window.__frames.push(now);
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();
"""

READY = """() => document.querySelectorAll('#session-list .session').length > 0
  && document.querySelectorAll('#messages .msg').length > 0
  && !document.getElementById('message-input').disabled"""


def fill_sessions(client: Client, count: int) -> None:
    """`count` small sessions of four messages each, imported over HTTP by 8 clients."""
    port = client.conn.port

    def one(i: int) -> None:
        Client(port).call(
            "POST",
            "/api/session/import",
            {
                "title": f"Planning note {i}",
                "messages": [
                    {"role": "user", "content": f"Question {i} about the harbour schedule"},
                    {"role": "assistant", "content": f"Answer {i}: the **ferry** leaves at 9."},
                    {"role": "user", "content": "And on Sundays?"},
                    {"role": "assistant", "content": "On Sundays it leaves at 10."},
                ],
            },
        )

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(count)))


def long_session(client: Client, count: int) -> str:
    """A session of `count` messages with Markdown and code; the most recent one in the list."""
    messages = []
    for i in range(count // 2):
        messages.append({"role": "user", "content": f"Step {i}: what does this print?"})
        messages.append(
            {
                "role": "assistant",
                "content": f"Step {i} prints **{i * i}**.\n\n```python\nprint({i} * {i})\n```\n"
                "- it squares the number\n- then prints it",
            }
        )
    reply = client.call_json(
        "POST", "/api/session/import", {"title": "Long tutorial", "messages": messages}
    )
    return reply["session"]["session_id"]


def time_to_interactive(page: Page, url: str, runs: int) -> dict[str, float]:
    """Cold load in a new context, then `runs` reloads; navigation start to READY."""
    page.goto(url)
    page.wait_for_function(READY)
    cold = page.evaluate("performance.now()")
    warm = []
    for _ in range(runs):
        page.reload()
        page.wait_for_function(READY)
        warm.append(page.evaluate("performance.now()"))
    return {"cold_ms": round(cold, 1), "warm_ms": round(statistics.median(warm), 1)}


def open_session(page: Page, base: str, session_id: str, last_text: str, runs: int) -> float:
    """Median ms from a sidebar click on the session to its last message on screen."""
    times = []
    for _ in range(runs):
        page.evaluate("localStorage.clear()")
        page.goto(base + "/")
        page.wait_for_selector(f'.session[data-id="{session_id}"]')
        elapsed = page.evaluate(
            """async ([id, text]) => {
              const start = performance.now();
              document.querySelector(`.session[data-id="${id}"] .session-open`).click();
              await new Promise((resolve) => {
                const check = () => {
                  const all = document.querySelectorAll('#messages .msg');
                  const last = all[all.length - 1];
                  if (last && last.textContent.includes(text)) resolve();
                  else requestAnimationFrame(check);
                };
                check();
              });
              return performance.now() - start;
            }""",
            [session_id, last_text],
        )
        times.append(elapsed)
    return round(statistics.median(times), 1)


def stream(page: Page, base: str, fake: FakeOpenAI, tokens: int) -> dict[str, Any]:
    """Stream a `tokens`-token answer at 200 tokens/s and watch the page's frames."""
    words = " ".join(f"word{i}" for i in range(tokens - 1)) + " " + LAST_WORD
    fake.script(Reply.text(words, delay=1 / 200))
    page.goto(base + "/")
    page.wait_for_function(READY)
    page.click("#new-chat")
    page.fill("#message-input", "Tell me a long story")
    page.evaluate("window.__frames = []; window.__doneAt = null")
    page.keyboard.press("Enter")
    page.wait_for_function("() => window.__doneAt !== null", timeout=tokens * 50)
    shown_at = page.evaluate(
        """(word) => new Promise((resolve) => {
          const check = () => {
            const live = document.querySelector('#messages .msg-assistant:last-of-type');
            if (live && live.textContent.includes(word)) resolve(performance.now());
            else requestAnimationFrame(check);
          };
          check();
        })""",
        LAST_WORD,
    )
    frames, done_at = page.evaluate("[window.__frames, window.__doneAt]")
    page.evaluate("window.__frames = null")
    streamed = [t for t in frames if t <= done_at]
    gaps = [b - a for a, b in itertools.pairwise(streamed)]
    seconds = (streamed[-1] - streamed[0]) / 1000
    return {
        "tokens": tokens,
        "fps": round((len(streamed) - 1) / seconds, 1),
        "longest_frame_ms": round(max(gaps), 1),
        "complete_after_done_ms": round(max(0.0, shown_at - done_at), 1),
    }


def sidebar_fully_loaded(page: Page, base: str, total: int) -> dict[str, float]:
    """Scroll the sidebar until all `total` rows are loaded, then time what a person does next."""
    page.goto(base + "/")
    page.wait_for_function(READY)
    started = page.evaluate("performance.now()")
    page.wait_for_function(
        """(total) => {
          const list = document.getElementById('session-list');
          list.scrollTop = list.scrollHeight;
          return list.querySelectorAll('.session').length >= total;
        }""",
        arg=total,
        polling=50,
        timeout=300_000,
    )
    loaded_s = (page.evaluate("performance.now()") - started) / 1000
    scroll = page.evaluate(
        """async () => {
          const list = document.getElementById('session-list');
          list.scrollTop = 0;
          const stamps = [];
          for (let i = 0; i < 240; i++) {
            list.scrollTop += 120;
            await new Promise((resolve) => requestAnimationFrame(resolve));
            stamps.push(performance.now());
          }
          const gaps = stamps.slice(1).map((t, i) => t - stamps[i]);
          const seconds = (stamps.at(-1) - stamps[0]) / 1000;
          return { fps: (stamps.length - 1) / seconds, longest: Math.max(...gaps) };
        }"""
    )
    relayout = page.evaluate(
        """() => {
          const sidebar = document.getElementById('sidebar');
          const times = [];
          for (let i = 1; i <= 7; i++) {
            sidebar.style.width = `${280 + i * 4}px`;
            const start = performance.now();
            void document.body.offsetHeight;
            times.push(performance.now() - start);
          }
          sidebar.style.width = '';
          return times.sort((a, b) => a - b)[3];
        }"""
    )
    opened = page.evaluate(
        """async () => {
          const rows = document.querySelectorAll('#session-list .session');
          const target = rows[rows.length - 10];
          target.scrollIntoView();
          const title = target.querySelector('.session-title').textContent;
          const start = performance.now();
          target.querySelector('.session-open').click();
          await new Promise((resolve) => {
            const check = () => document.getElementById('chat-title').textContent === title
              ? resolve() : requestAnimationFrame(check);
            check();
          });
          return performance.now() - start;
        }"""
    )
    return {
        "rows": total,
        "scroll_to_last_row_s": round(loaded_s, 1),
        "scroll_fps": round(scroll["fps"], 1),
        "longest_scroll_frame_ms": round(scroll["longest"], 1),
        "relayout_ms": round(relayout, 1),
        "open_row_ms": round(opened, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, smaller data")
    args = parser.parse_args()
    runs = 3 if args.quick else 7
    tokens = 600 if args.quick else 3000
    crowd = 2000 if args.quick else 5000
    results: dict[str, Any] = {"targets": TARGETS}
    with FakeOpenAI() as fake:
        server = ServerProcess(Path(tempfile.mkdtemp(prefix="hermes-bench-ui-")))
        server.extra_env = fake_provider_env(fake)
        server.start()
        try:
            client = Client(server.port)
            fill_sessions(client, 1000)
            long_id = long_session(client, 2000)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
                )
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                context.add_init_script(PAGE_PROBES)
                page = context.new_page()
                results["tti_1000_sessions"] = time_to_interactive(
                    page, f"{server.base}/#session={long_id}", runs
                )
                results["open_2000_messages_ms"] = open_session(
                    page, server.base, long_id, "then prints it", runs
                )
                results["stream_200_tps"] = stream(page, server.base, fake, tokens)
                fill_sessions(client, crowd - 1001)
                results["sidebar_all_rows_loaded"] = sidebar_fully_loaded(page, server.base, crowd)
                browser.close()
        finally:
            server.stop()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
