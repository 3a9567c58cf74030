// The Scheduled page (opened from the sidebar): every scheduled job with its schedule in
// words, its next run in the browser's time, its last result and whether it is paused; per
// job Run now, Pause/Resume, Edit, History (its runs, each opening its conversation) and
// Delete; "New job" opens the form of cron-form.js in place of the list; "Notify me" asks the
// browser's permission to show answers as notifications (cron-notices.js).
import { get, post } from "./api.js";
import { clear, el, showResult } from "./dom.js";
import { checkRunsNow, notificationState, requestNotifications } from "./cron-notices.js";
import { jobForm } from "./cron-form.js";
import { pageDialog } from "./page-dialog.js";
import { confirmDialog } from "./prompt-dialog.js";

const WATCH_MS = 1000;
const WATCH_LIMIT = 600; // a run watched for ten minutes at most; its history says the rest
const STATUS_WORDS = { ok: "Answered", silent: "Nothing to say", failed: "Failed", skipped: "Skipped", running: "Running" };

let page;
let listPage;
let jobList;
let result;
let newButton;
let notifyButton;
let notifyNote;
let form;
let zoneSetting = "";
let openConversation = () => {};
const histories = new Set(); // ids of jobs whose history is shown

/** `open(sessionId)` shows a conversation in the main view. */
export function initScheduledPage({ open }) {
  openConversation = open;
  const button = document.getElementById("scheduled-open");
  button.addEventListener("click", () => {
    page ??= build();
    page.open(button);
  });
}

function build() {
  const built = pageDialog({ id: "scheduled-dialog", title: "Scheduled", onOpen: () => { histories.clear(); showList(); showNotifyState(); load(); } });
  jobList = el("ul", { id: "cron-jobs", class: "cron-jobs" });
  result = el("p", { id: "scheduled-result", class: "result", role: "status" });
  newButton = el("button", { type: "button", class: "primary", text: "New job", onclick: () => openForm(null) });
  notifyButton = el("button", { type: "button", text: "Notify me", onclick: askToNotify });
  notifyNote = el("p", { id: "cron-notify-note", class: "small muted" });
  listPage = el("div", { id: "scheduled-list-page", class: "stack" },
    el("p", { class: "small muted", text: "Prompts the agent answers on a schedule, each run a new conversation listed under \u201cScheduled\u201d. Runs need no one to approve them: commands outside the allowlist are refused." }),
    el("div", { class: "dialog-row" }, newButton, notifyButton),
    notifyNote,
    result,
    jobList);
  form = jobForm({ closed });
  built.body.append(listPage, form.node);
  return built;
}

async function load() {
  try {
    const reply = await get("/api/cron/jobs", undefined, { quiet: true });
    zoneSetting = reply.timezone;
    clear(jobList).append(...reply.jobs.map(jobCard));
    if (!reply.jobs.length) jobList.append(el("li", { class: "small muted", text: "No scheduled job yet." }));
    for (const id of histories) showHistory(id);
  } catch (err) {
    showResult(result, `Could not load the jobs: ${err.message}`, "error");
  }
}

function jobCard(job) {
  const name = job.name;
  const last = job.last_run;
  const state = job.paused ? "Paused" : job.next_run_at ? "Active" : "Done";
  const actions = el("div", { class: "cron-actions" },
    el("button", { type: "button", text: "Run now", "aria-label": `Run now ${name}`, onclick: (e) => runNow(job, e.currentTarget) }),
    el("button", { type: "button", text: job.paused ? "Resume" : "Pause", "aria-label": `${job.paused ? "Resume" : "Pause"} ${name}`, onclick: (e) => setPaused(job, !job.paused, e.currentTarget) }),
    el("button", { type: "button", text: "Edit", "aria-label": `Edit ${name}`, "data-action": "edit", onclick: () => openForm(job) }),
    el("button", {
      type: "button", class: "cron-history-button", text: "History", "aria-label": `History of ${name}`,
      "aria-expanded": String(histories.has(job.id)), "aria-controls": `cron-history-${job.id}`,
      onclick: (e) => toggleHistory(job.id, e.currentTarget),
    }),
    el("button", { type: "button", class: "danger", text: "Delete…", "aria-label": `Delete ${name}…`, onclick: (e) => remove(job, e.currentTarget) }));
  return el("li", { class: `cron-job${job.paused ? " is-paused" : ""}`, "data-id": job.id },
    el("div", { class: "cron-head" },
      el("h3", { class: "cron-name", text: name }),
      el("span", { class: "cron-state", text: state })),
    el("p", { class: "cron-when", text: job.description }),
    el("p", { class: "cron-next", text: job.paused ? "Paused: it will not run until resumed." : job.next_run_at ? `Next run: ${localTime(job.next_run_at)}` : "It will not run again." }),
    el("p", { class: "cron-last" }, last ? statusLine(last) : "Not run yet."),
    el("p", { class: "small muted cron-deliver", text: `Answers go to ${job.deliver}` }),
    actions,
    el("div", { id: `cron-history-${job.id}`, class: "cron-history", hidden: !histories.has(job.id) }));
}

/** "Last run: Answered · time", its status as a word with a mark. */
function statusLine(run, prefix = "Last run: ") {
  return [prefix,
    el("span", { class: `cron-status is-${run.status}`, text: STATUS_WORDS[run.status] || run.status }),
    ` · ${localTime(run.finished_at || run.started_at)}`];
}

function card(id) {
  return jobList.querySelector(`li.cron-job[data-id="${CSS.escape(id)}"]`);
}

async function runNow(job, button) {
  try {
    const reply = await post("/api/cron/job/run", { id: job.id }, { quiet: true });
    showResult(result, `Running ${job.name}…`);
    histories.add(job.id);
    await load();
    card(job.id)?.querySelector("button")?.focus();
    watch(job, reply.run_id);
  } catch (err) {
    showResult(result, `Not started: ${err.message}`, "error");
    button.focus();
  }
}

/** Follow a run until it ends, then show how it went (and let the notices look at once). */
async function watch(job, runId) {
  for (let i = 0; i < WATCH_LIMIT && page.dialog.open; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, WATCH_MS));
    let run;
    try {
      ({ runs: [run] = [] } = await get("/api/cron/runs", { job_id: job.id, limit: 1 }, { quiet: true }));
    } catch {
      continue;
    }
    if (run?.id === runId && run.status !== "running") {
      showResult(result, `${job.name}: ${STATUS_WORDS[run.status] || run.status}.`, run.status === "failed" ? "error" : "ok");
      const focused = document.activeElement;
      await load();
      if (!focused?.isConnected) card(job.id)?.querySelector("button")?.focus();
      checkRunsNow();
      return;
    }
  }
}

async function setPaused(job, paused, button) {
  try {
    await post("/api/cron/job/pause", { id: job.id, paused }, { quiet: true });
    showResult(result, `${job.name} is ${paused ? "paused" : "resumed"}.`, "ok");
    await load();
    card(job.id)?.querySelectorAll("button")[1]?.focus();
  } catch (err) {
    showResult(result, `Not changed: ${err.message}`, "error");
    button.focus();
  }
}

async function remove(job, button) {
  const sure = await confirmDialog({
    title: `Delete ${job.name}?`,
    message: "The job and its run history are deleted; its runs' conversations stay in the sidebar.",
    confirmLabel: "Delete",
    returnFocus: () => (button.isConnected ? button : newButton),
  });
  if (!sure) return;
  try {
    await post("/api/cron/job/delete", { id: job.id }, { quiet: true });
    histories.delete(job.id);
    showResult(result, `Deleted ${job.name}.`, "ok");
    await load();
    newButton.focus();
  } catch (err) {
    showResult(result, `Not deleted: ${err.message}`, "error");
  }
}

function toggleHistory(id, button) {
  const shown = !histories.has(id);
  if (shown) histories.add(id);
  else histories.delete(id);
  button.setAttribute("aria-expanded", String(shown));
  const area = document.getElementById(`cron-history-${id}`);
  area.hidden = !shown;
  if (shown) showHistory(id);
}

async function showHistory(id) {
  const area = document.getElementById(`cron-history-${id}`);
  if (!area) return;
  area.hidden = false;
  try {
    const { runs } = await get("/api/cron/runs", { job_id: id, limit: 20 }, { quiet: true });
    clear(area).append(runs.length
      ? el("ol", { class: "cron-runs", "aria-label": "Runs, newest first" }, ...runs.map(runItem))
      : el("p", { class: "small muted", text: "No run yet." }));
  } catch (err) {
    clear(area).append(el("p", { class: "result is-error", text: `Could not load the runs: ${err.message}` }));
  }
}

function runItem(run) {
  const when = localTime(run.finished_at || run.started_at);
  return el("li", { class: "cron-run", "data-run": run.id },
    el("div", { class: "cron-run-head" },
      el("span", { class: `cron-status is-${run.status}`, text: STATUS_WORDS[run.status] || run.status }),
      el("span", { class: "cron-run-time", text: when }),
      run.trigger === "manual" ? el("span", { class: "badge", text: "Run by hand" }) : null),
    run.error ? el("p", { class: "cron-run-error", text: run.error }) : null,
    run.delivered ? el("p", { class: "small muted", text: `Delivered: ${run.delivered}` }) : null,
    run.session_id ? el("button", {
      type: "button", class: "link-button", text: "Open conversation", "aria-label": `Open the conversation of the run at ${when}`,
      onclick: () => { page.dialog.close(); openConversation(run.session_id); },
    }) : null);
}

function localTime(seconds) {
  return seconds ? new Date(seconds * 1000).toLocaleString(undefined, { weekday: "short", year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }) : "";
}

function showNotifyState() {
  const state = notificationState();
  notifyButton.hidden = state !== "default";
  notifyNote.textContent = {
    granted: "Answers delivered here show as notifications while a page is open.",
    denied: "This browser blocks notifications from this page: answers show as a notice here instead.",
    unsupported: "This browser has no notifications: answers show as a notice here instead.",
    default: "Answers delivered here show as a notice while a page is open; \u201cNotify me\u201d shows them as notifications.",
  }[state];
}

async function askToNotify() {
  await requestNotifications();
  showNotifyState();
  (notifyButton.hidden ? newButton : notifyButton).focus();
}

function showList() {
  form.hide();
  listPage.hidden = false;
}

function openForm(job) {
  showResult(result, "");
  listPage.hidden = true;
  form.show(job, zoneSetting);
}

/** Back from the form: after a save, the list is read again and says so (and why answers
 * cannot reach the target yet, if so). Focus goes to the Edit button of the job edited, or to
 * Run now of a new one. */
async function closed(id, saved, edited, warning) {
  listPage.hidden = false;
  if (saved) {
    await load();
    if (warning) showResult(result, `Saved, but answers cannot be delivered yet: ${warning}.`, "error");
    else showResult(result, "Saved.", "ok");
  }
  const target = id && card(id);
  (target?.querySelector(edited ? "[data-action=edit]" : "button") || newButton).focus();
}
