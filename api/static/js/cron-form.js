// The form of the Scheduled page that creates a job or edits one: its name, the prompt, the
// schedule (read back in words with its next three runs as it is typed, from the server's
// own parser), where the answer goes, skills, model, workspace, time zone, and whether its
// runs may schedule jobs. The server checks everything; its reason shows beside the form.
import { get, post } from "./api.js";
import { clear, el } from "./dom.js";

const PREVIEW_DELAY_MS = 350;
const TARGETS = {
  web: { label: "This web UI (with a notification)" },
  telegram: { label: "A Telegram chat", field: "Chat id", hint: "The chat's number, as the gateway knows it (a group's starts with -)." },
  webhook: { label: "A webhook", field: "Webhook name", hint: "A hook of the gateway's webhook platform; the answer is posted to its callback_url." },
};

/** `closed(id, saved, edited, warning)` runs after Cancel (`id` of the job edited, null for a
 * new one) or a save; `edited`: the form showed a job that already existed; `warning`: why the
 * saved job's answers could not reach its target yet. */
export function jobForm({ closed }) {
  let editing = null;
  let defaultZone = "";
  let previewTimer = null;
  let asked = 0; // the latest preview asked for: older replies are dropped
  const ids = (key) => `cron-form-${key}`;
  const title = el("h3", { id: ids("title"), tabindex: -1 });
  const hintOf = (key, hint) => (hint ? el("p", { id: ids(`${key}-hint`), class: "small muted", text: hint }) : null);
  const field = (key, label, input, hint) => el("div", { class: "stack" },
    el("label", { for: ids(key), text: label }), input, hintOf(key, hint));
  const input = (key, attrs = {}, hint = false) => el("input", {
    id: ids(key), name: key, autocomplete: "off", spellcheck: "false", ...attrs,
    "aria-describedby": hint ? ids(`${key}-hint`) : undefined,
  });

  const name = input("name", { maxlength: 80 });
  const prompt = el("textarea", { id: ids("prompt"), name: "prompt", rows: 4, maxlength: 20000, required: true });
  const schedule = input("schedule", { required: true, maxlength: 200, autocapitalize: "none", "aria-describedby": `${ids("schedule-hint")} ${ids("reading")} ${ids("schedule-error")}` });
  const reading = el("div", { id: ids("reading"), class: "cron-reading", role: "status" });
  const scheduleError = el("p", { id: ids("schedule-error"), class: "result is-error", role: "alert" });
  const deliver = el("select", { id: ids("deliver"), name: "deliver", onchange: () => showTarget() },
    ...Object.entries(TARGETS).map(([value, { label }]) => el("option", { value, text: label })));
  const target = input("target", { maxlength: 64 }, true);
  const targetLabel = el("label", { for: ids("target") });
  const targetHint = el("p", { id: ids("target-hint"), class: "small muted" });
  const targetBox = el("div", { class: "stack" }, targetLabel, target, targetHint);
  const skills = input("skills", { autocapitalize: "none" }, true);
  const model = input("model", { placeholder: "The default model" });
  const workspace = input("workspace", { placeholder: "The default workspace" });
  const zone = input("timezone", { list: ids("zones"), autocapitalize: "none" }, true);
  const zones = el("datalist", { id: ids("zones") }, ...knownZones().map((value) => el("option", { value })));
  const maySchedule = el("input", { id: ids("may-schedule"), name: "may_schedule", type: "checkbox" });
  const error = el("p", { id: ids("error"), class: "result is-error", role: "alert" });
  const save = el("button", { type: "submit", class: "primary", text: "Save" });
  const cancel = el("button", { type: "button", text: "Cancel", onclick: () => close(null) });

  const form = el("form", { class: "cron-form stack", novalidate: true, "aria-labelledby": ids("title"), "aria-describedby": ids("error") },
    title,
    field("name", "Name", name),
    field("prompt", "Prompt", prompt),
    el("div", { class: "stack" },
      el("label", { for: ids("schedule"), text: "Schedule" }), schedule,
      hintOf("schedule", "A cron expression (0 8 * * 1-5: weekdays at 8:00), an interval (every 2h), a delay (in 30m) or a date and time (2026-12-24T09:00)."),
      reading, scheduleError),
    field("timezone", "Time zone", zone, "The schedule's clock, as an IANA name (Europe/Lisbon)."),
    zones,
    field("deliver", "Send the answer to", deliver),
    targetBox,
    field("skills", "Skills", skills, "Names separated by commas; each run loads them."),
    el("div", { class: "cron-pair" }, field("model", "Model", model), field("workspace", "Workspace", workspace)),
    el("label", { class: "switch" }, maySchedule, el("span", { text: "Its runs may schedule jobs" })),
    el("div", { class: "dialog-row" }, save, cancel),
    error);
  form.addEventListener("submit", (event) => { event.preventDefault(); store(); });
  schedule.addEventListener("input", previewSoon);
  zone.addEventListener("input", previewSoon);

  function showTarget() {
    const chosen = TARGETS[deliver.value];
    targetBox.hidden = !chosen.field;
    targetLabel.textContent = chosen.field || "";
    targetHint.textContent = chosen.hint || "";
  }

  /** Fill the form from a job (as the API shows it), or empty; `zoneSetting` is the default. */
  function show(job, zoneSetting) {
    editing = job;
    defaultZone = zoneSetting || "";
    form.hidden = false;
    title.textContent = job ? `Edit ${job.name}` : "New scheduled job";
    name.value = job?.name || "";
    prompt.value = job?.prompt || "";
    schedule.value = job?.schedule || "";
    zone.value = job?.timezone || defaultZone;
    const [kind, where = ""] = (job?.deliver || "web").split(/:(.*)/s);
    deliver.value = TARGETS[kind] ? kind : "web";
    target.value = where;
    skills.value = (job?.skills || []).join(", ");
    model.value = job?.model || "";
    workspace.value = job?.workspace || "";
    maySchedule.checked = Boolean(job?.may_schedule);
    error.textContent = "";
    showTarget();
    showPreview(null);
    if (schedule.value) preview();
    (job ? prompt : name).focus();
  }

  function hide() {
    form.hidden = true;
    clearTimeout(previewTimer);
  }

  function close(savedJob, warning = null) {
    hide();
    closed(savedJob ? savedJob.id : editing?.id ?? null, Boolean(savedJob), Boolean(editing), warning);
  }

  function previewSoon() {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(preview, PREVIEW_DELAY_MS);
  }

  async function preview() {
    const text = schedule.value.trim();
    const mine = ++asked;
    if (!text) {
      showPreview(null);
      return;
    }
    try {
      const reply = await get("/api/cron/preview", { schedule: text, timezone: zone.value.trim() || undefined }, { quiet: true });
      if (mine === asked) showPreview(reply);
    } catch (err) {
      if (mine === asked) showPreview(null, err.message);
    }
  }

  /** The schedule in words and its next runs (in its zone), or why it does not parse. */
  function showPreview(reply, problem = "") {
    scheduleError.textContent = problem;
    schedule.setAttribute("aria-invalid", problem ? "true" : "false");
    clear(reading);
    if (!reply) return;
    const where = zone.value.trim() || defaultZone;
    reading.append(
      el("p", { class: "cron-description", text: reply.description }),
      el("p", { class: "small muted", text: reply.next.length ? "Next runs:" : "It will not run again." }),
      el("ul", { class: "cron-next-list" }, ...reply.next.map((moment) => el("li", { text: inZone(moment, where) }))));
  }

  function read() {
    const chosen = deliver.value;
    const where = target.value.trim();
    return {
      id: editing?.id,
      name: name.value.trim(),
      prompt: prompt.value,
      schedule: schedule.value.trim(),
      deliver: chosen === "web" ? "web" : `${chosen}:${where}`,
      skills: skills.value.split(",").map((part) => part.trim()).filter(Boolean),
      model: model.value.trim(),
      workspace: workspace.value.trim(),
      timezone: zone.value.trim() || undefined,
      may_schedule: maySchedule.checked,
    };
  }

  async function store() {
    error.textContent = "";
    if (save.getAttribute("aria-disabled") === "true") return;
    save.setAttribute("aria-disabled", "true");
    try {
      const reply = await post("/api/cron/job/save", read(), { quiet: true });
      close(reply.job, reply.warning);
    } catch (err) {
      error.textContent = `Not saved: ${err.message}`;
    } finally {
      save.removeAttribute("aria-disabled");
    }
  }

  hide();
  return { node: form, show, hide };
}

/** An ISO time shown on the clock of `zone` (the browser's own when it does not know it). */
export function inZone(iso, zone) {
  const options = { weekday: "short", year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" };
  try {
    return new Date(iso).toLocaleString(undefined, { ...options, timeZone: zone || undefined });
  } catch {
    return new Date(iso).toLocaleString(undefined, options);
  }
}

function knownZones() {
  try {
    return Intl.supportedValuesOf("timeZone");
  } catch {
    return [];
  }
}
