// The Memory page of the settings: the agent's two memory files, how full each is, the user's
// edit of each (saved whole, held to its limit by the server), clearing after a confirmation,
// and the `memory` setting that turns memory on or off for new conversations.
import { get, post } from "./api.js";
import { el, showResult } from "./dom.js";
import { grouped, pageDialog } from "./page-dialog.js";
import { confirmDialog } from "./prompt-dialog.js";

const FILES = [
  { target: "user", title: "About you", hint: "What the agent learnt of you: preferences, style, context." },
  { target: "memory", title: "The agent's notes", hint: "Its own notes: the environment, conventions, lessons learnt." },
];
// A line holding only § separates entries; a § inside a line is text (as the server reads it).
const SEPARATOR_LINE = /^[ \t]*§[ \t]*$/m;

let page;
let switchBox;
let switchStatus;
let fixedByEnvironment = false; // HERMES_MEMORY wins over the setting saved here
const sections = {};

export function initMemoryPage() {
  const button = document.getElementById("memory-open");
  button.addEventListener("click", () => {
    page ??= build();
    page.open(button);
  });
}

function build() {
  const built = pageDialog({ id: "memory-dialog", title: "Memory", onOpen: load });
  switchBox = el("input", { id: "memory-enabled", type: "checkbox", disabled: true });
  switchBox.addEventListener("change", () => saveSwitch(switchBox.checked));
  switchStatus = el("p", { id: "memory-switch-status", class: "small muted", role: "status" });
  built.body.append(
    el("p", { class: "small muted", text: "What the agent remembers from one conversation to the next. It goes into every new conversation's instructions; a change shows from the next conversation on." }),
    el("label", { class: "switch" }, switchBox, el("span", { text: "Use memory in new conversations" })),
    switchStatus,
    ...FILES.map(section),
  );
  return built;
}

/** One file's region: how full it is, its text to edit, Save and Clear. */
function section({ target, title, hint }) {
  const name = target === "user" ? "USER.md" : "MEMORY.md";
  const ids = { title: `memory-${target}-title`, box: `memory-${target}-text`, hint: `memory-${target}-hint` };
  const meter = el("meter", { min: 0, max: 1, value: 0, "aria-label": `How full ${name} is` });
  const fill = el("span", { class: "memory-fill" });
  const box = el("textarea", { id: ids.box, rows: 6, spellcheck: true, disabled: true, "aria-describedby": ids.hint });
  const save = el("button", { type: "button", class: "primary", text: "Save", "aria-label": `Save ${name}`, disabled: true });
  const wipe = el("button", { type: "button", class: "danger", text: "Clear…", "aria-label": `Clear ${name}…`, disabled: true });
  const result = el("p", { class: "result", role: "status" });
  const state = { target, name, meter, fill, box, save, wipe, result, saved: "", limit: 1 };
  sections[target] = state;
  box.addEventListener("input", () => showFill(state));
  save.addEventListener("click", () => saveFile(state));
  wipe.addEventListener("click", () => clearFile(state));
  return el("section", { class: "memory-file", "aria-labelledby": ids.title },
    el("h3", { id: ids.title, text: `${title} (${name})` }),
    el("div", { class: "memory-fill-row" }, meter, fill),
    el("label", { for: ids.box, text: `Entries of ${name}` }),
    el("p", { id: ids.hint, class: "small muted", text: `${hint} A line holding only § separates entries.` }),
    box,
    el("div", { class: "dialog-row" }, save, wipe),
    result);
}

async function load() {
  for (const state of Object.values(sections)) showResult(state.result, "");
  showResult(switchStatus, "Loading…");
  try {
    const [memory, settings] = await Promise.all([
      get("/api/memory", undefined, { quiet: true }),
      get("/api/settings", undefined, { quiet: true }),
    ]);
    for (const { target } of FILES) showFile(sections[target], memory[target]);
    fixedByEnvironment = (settings.from_environment || []).includes("memory");
    switchBox.disabled = fixedByEnvironment;
    showSwitch(memory.enabled);
  } catch (err) {
    showResult(switchStatus, `Could not load the memory: ${err.message}`, "error");
  }
}

/** Put a file as the server has it into its section. */
function showFile(state, file) {
  state.saved = file.text;
  state.limit = file.limit;
  state.box.value = file.text;
  state.meter.max = file.limit;
  for (const control of [state.box, state.save, state.wipe]) control.disabled = false;
  showFill(state);
}

/** "67% — 1,474/2,200 characters", counted as the server counts, with "(not saved)" while
 * the text differs from the file and how far over the limit it is. */
function showFill(state) {
  const used = [...entries(state.box.value).join("\n§\n")].length;
  const over = used - state.limit;
  const dirty = state.box.value !== state.saved;
  state.meter.value = Math.min(used, state.limit);
  state.fill.textContent = `${Math.round((100 * used) / state.limit)}% — ${grouped(used)}/${grouped(state.limit)} characters`
    + (dirty ? " (not saved)" : "") + (over > 0 ? `: ${grouped(over)} over the limit` : "");
  state.fill.className = over > 0 ? "memory-fill is-over" : "memory-fill";
}

function entries(text) {
  return text.split(SEPARATOR_LINE).map((entry) => entry.trim()).filter(Boolean);
}

async function saveFile(state) {
  state.save.disabled = true;
  showResult(state.result, "Saving…");
  try {
    const file = await post("/api/memory", { target: state.target, text: state.box.value }, { quiet: true });
    showFile(state, file);
    showResult(state.result, "Saved.", "ok");
  } catch (err) {
    showResult(state.result, `Not saved: ${err.message}`, "error");
  } finally {
    state.save.disabled = false;
  }
}

async function clearFile(state) {
  const sure = await confirmDialog({
    title: `Clear ${state.name}?`,
    message: `Every entry of ${state.name} is removed. Conversations already started keep what they were given.`,
    confirmLabel: "Clear",
    returnFocus: () => state.wipe,
  });
  if (!sure) return;
  try {
    const reply = await post("/api/memory/clear", { target: state.target }, { quiet: true });
    showFile(state, reply[state.target]);
    showResult(state.result, "Cleared.", "ok");
  } catch (err) {
    showResult(state.result, `Not cleared: ${err.message}`, "error");
  }
}

async function saveSwitch(on) {
  switchBox.disabled = true;
  showResult(switchStatus, "Saving…");
  try {
    const settings = await post("/api/settings", { memory: on }, { quiet: true });
    showSwitch(settings.memory);
  } catch (err) {
    switchBox.checked = !on;
    showResult(switchStatus, `Not changed: ${err.message}`, "error");
  } finally {
    switchBox.disabled = fixedByEnvironment;
  }
}

function showSwitch(on) {
  switchBox.checked = on;
  const state = on
    ? "Memory is on: new conversations get both files."
    : "Memory is off: new conversations get neither file. The files are kept.";
  const note = fixedByEnvironment ? " Set by HERMES_MEMORY in the server's environment." : "";
  showResult(switchStatus, state + note);
}
