// Answers of scheduled jobs, noticed while a page is open: every 30 seconds (and at load, and
// when the tab comes back into view) it asks for the runs finished since the last one seen.
// Each new run that answered and was delivered to `web` is shown as a browser notification
// when the user allowed them ("Notify me" on the Scheduled page), otherwise as a notice in
// the page; either opens the run's conversation when clicked. The last moment seen (the
// server's clock) is kept in localStorage, so a reload or a second tab does not repeat them.
import { get } from "./api.js";
import { el } from "./dom.js";

const EVERY_MS = 30_000;
const SEEN_KEY = "hermes-cron-seen";
const TOAST_MS = 60_000;
const SNIPPET = 140;

let hooks = { open: () => {}, changed: () => {} };
let checking = null;
let toasts;

/** `open(sessionId)` shows a conversation; `changed()` refreshes the conversation list. */
export function initCronNotices(options) {
  hooks = { ...hooks, ...options };
  checkRunsNow();
  setInterval(checkRunsNow, EVERY_MS);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") checkRunsNow();
  });
}

/** Look for newly finished runs now (one look at a time). */
export function checkRunsNow() {
  checking ??= check().finally(() => { checking = null; });
  return checking;
}

async function check() {
  const seen = readSeen();
  let reply;
  try {
    reply = await get("/api/cron/runs", seen === null ? { limit: 1 } : { since: seen, limit: 50 }, { quiet: true });
  } catch {
    return; // the next look tries again; a page without the store has nothing to notice
  }
  if (seen === null) {
    writeSeen(reply.now); // a first visit notices what comes next, not what came before
    return;
  }
  const runs = reply.runs.filter((run) => run.finished_at > seen);
  if (!runs.length) return;
  writeSeen(Math.max(readSeen() ?? seen, ...runs.map((run) => run.finished_at)));
  for (const run of runs.reverse()) {
    if (run.status === "ok" && run.delivered === "web" && run.session_id) announce(run);
  }
  hooks.changed();
}

function readSeen() {
  const value = Number(localStorage.getItem(SEEN_KEY));
  return Number.isFinite(value) && value > 0 ? value : null;
}

function writeSeen(value) {
  localStorage.setItem(SEEN_KEY, String(value));
}

function announce(run) {
  const title = `⏰ ${run.job_name || "Scheduled job"}`;
  const body = snippet(run.result || "");
  if (notificationState() === "granted") {
    try {
      const shown = new Notification(title, { body, tag: `hermes-cron-run-${run.id}` });
      shown.addEventListener("click", () => {
        window.focus();
        hooks.open(run.session_id);
        shown.close();
      });
      return;
    } catch {
      // Some browsers allow notifications only from a service worker: the page shows it.
    }
  }
  toast(title, body, run);
}

function toast(title, body, run) {
  toasts ??= document.body.appendChild(el("div", { id: "cron-toasts", class: "cron-toasts", role: "region", "aria-label": "Answers of scheduled jobs", "aria-live": "polite" }));
  const item = el("div", { class: "cron-toast", "data-run": run.id });
  const dismiss = () => item.remove();
  item.append(
    el("button", {
      type: "button", class: "cron-toast-open",
      onclick: () => { dismiss(); hooks.open(run.session_id); },
    }, el("strong", { text: title }), el("span", { text: body || "Open the answer" })),
    el("button", { type: "button", class: "icon cron-toast-close", text: "×", "aria-label": `Dismiss ${title}`, onclick: dismiss }));
  toasts.append(item);
  setTimeout(dismiss, TOAST_MS);
}

function snippet(text) {
  const line = text.split("\n").find((part) => part.trim()) || "";
  return line.length > SNIPPET ? `${line.slice(0, SNIPPET - 1)}…` : line;
}

/** "granted", "denied", "default" (not asked yet) or "unsupported". */
export function notificationState() {
  return "Notification" in window ? Notification.permission : "unsupported";
}

export async function requestNotifications() {
  if (notificationState() !== "default") return notificationState();
  try {
    return await Notification.requestPermission();
  } catch {
    return notificationState();
  }
}
