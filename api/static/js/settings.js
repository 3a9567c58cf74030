// The settings dialog: provider, base URL, model (with the provider's list), a write-only
// API key, a connection test, the web UI password, the colour theme, and the buttons that
// open the Memory, Skills and Tools pages.
import { get, post } from "./api.js";
import { clear, el, notify, showResult } from "./dom.js";
import { initMemoryPage } from "./memory-page.js";
import { forgetModels, modelName } from "./model-picker.js";
import { initPasswordSection, refreshPasswordSection } from "./password.js";
import { initSkillsPage } from "./skills-page.js";
import { initToolsPage } from "./tools-page.js";
import { savedTheme, setTheme } from "./theme.js";

// The provider fields the dialog edits; others stay as config.yaml has them.
const FIELDS = ["provider", "base_url", "model"];
const FIELD_NAMES = { provider: "provider", base_url: "base URL", model: "model", api_key: "API key" };

let dialog;
let form;
let fromEnvironment = new Set();
let loaded = {};

export function initSettings() {
  dialog = document.getElementById("settings-dialog");
  form = document.getElementById("settings-form");
  document.getElementById("settings-button").addEventListener("click", open);
  document.getElementById("settings-close").addEventListener("click", () => dialog.close());
  document.getElementById("load-models").addEventListener("click", () => loadModels());
  document.getElementById("test-connection").addEventListener("click", testConnection);
  document.getElementById("model-choice").addEventListener("change", pickModel);
  form.addEventListener("submit", save);
  for (const radio of document.querySelectorAll("#theme-form input[name=theme]")) {
    radio.addEventListener("change", () => setTheme(radio.value));
  }
  initPasswordSection();
  initMemoryPage();
  initSkillsPage();
  initToolsPage();
}

async function open() {
  result("Loading the settings…");
  // Locked until the saved values are in, so nothing typed meanwhile is overwritten by them.
  form.querySelector("fieldset").disabled = true;
  document.getElementById("theme-form").elements.theme.value = savedTheme();
  dialog.showModal();
  const focusedOnOpen = document.activeElement;
  refreshPasswordSection();
  try {
    show(await get("/api/settings", undefined, { quiet: true }));
    form.querySelector("fieldset").disabled = false;
    result("");
    if (document.activeElement === focusedOnOpen) form.elements.provider.focus();
  } catch (err) {
    result(`Could not load the settings: ${err.message}`, "error");
    return;
  }
  loadModels();
}

/** Put the server's settings in the form; the API key only as "set" or "not set". */
function show(settings) {
  showProviders(settings.providers || []);
  for (const name of FIELDS) form.elements[name].value = settings[name] || "";
  if (!form.elements.provider.value) form.elements.provider.value = "local";
  loaded = Object.fromEntries(FIELDS.map((name) => [name, form.elements[name].value]));
  const keySet = Boolean(settings.api_key_set);
  form.elements.api_key.value = "";
  form.elements.api_key.placeholder = keySet ? "Set (hidden)" : "Not set";
  document.getElementById("api-key-state").textContent = keySet
    ? "A key is saved. It is never shown; leave the field empty to keep it."
    : "No key is saved.";
  fromEnvironment = new Set(settings.from_environment || []);
  for (const name of [...FIELDS, "api_key"]) form.elements[name].disabled = fromEnvironment.has(name);
  const note = document.getElementById("env-note");
  const fixed = Object.keys(FIELD_NAMES).filter((name) => fromEnvironment.has(name)).map((name) => FIELD_NAMES[name]);
  note.hidden = fixed.length === 0;
  note.textContent = fixed.length
    ? `Set by the server's environment (HERMES_* variables), which wins over this dialog: ${fixed.join(", ")}.`
    : "";
}

/** The provider picker offers the providers installed on the server (plugins included). */
function showProviders(providers) {
  const options = providers.map(({ name, title }) => el("option", { value: name, text: title }));
  clear(form.elements.provider).append(...options);
}

async function save(event) {
  event.preventDefault();
  // Only what changed is sent, so an untouched default (such as the provider's default
  // model shown in the field) is not pinned in config.yaml.
  const body = {};
  for (const name of FIELDS) {
    const value = form.elements[name].value.trim();
    if (fromEnvironment.has(name) || value === loaded[name]) continue;
    body[name] = name === "provider" ? value : value || null;
  }
  const key = form.elements.api_key.value;
  if (key && !fromEnvironment.has("api_key")) body.api_key = key;
  result("Saving…");
  try {
    show(await post("/api/settings", body, { quiet: true }));
    notify("Settings saved");
    result("Saved.", "ok");
    forgetModels();
  } catch (err) {
    result(`Not saved: ${err.message}`, "error");
  }
}

async function loadModels() {
  const status = document.getElementById("model-status");
  const choice = document.getElementById("model-choice");
  status.textContent = "Loading the provider's models…";
  try {
    const data = await get("/api/models", undefined, { quiet: true });
    clear(choice).append(el("option", { value: "", text: "Pick one to fill in the model…" }));
    for (const model of data.models || []) {
      const name = modelName(model);
      if (name) choice.append(el("option", { value: name, text: name }));
    }
    const count = choice.options.length - 1;
    status.textContent = `${count} model${count === 1 ? "" : "s"} from the saved provider (${data.provider}).`;
  } catch (err) {
    status.textContent = `Could not list models: ${err.message}`;
  }
}

function pickModel(event) {
  const name = event.target.value;
  if (!name || form.elements.model.disabled) return;
  form.elements.model.value = name;
  form.elements.model.focus();
}

async function testConnection() {
  const button = document.getElementById("test-connection");
  button.disabled = true;
  result("Testing the saved settings…");
  try {
    const reply = await post("/api/settings/test", {}, { quiet: true });
    result(`Connected to ${reply.model} in ${reply.latency_ms} ms. Reply: “${reply.reply}”`, "ok");
  } catch (err) {
    result(`Connection failed: ${err.message}`, "error");
  } finally {
    button.disabled = false;
  }
}

/** The dialog's own status line; `kind` is "ok", "error" or none (in progress). */
function result(text, kind = "") {
  showResult(document.getElementById("settings-result"), text, kind);
}
