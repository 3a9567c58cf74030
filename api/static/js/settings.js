// The settings dialog: provider, base URL, model (with the provider's list), a write-only
// API key, a connection test, and the colour theme.
import { get, post } from "./api.js";
import { clear, el, notify } from "./dom.js";
import { savedTheme, setTheme } from "./theme.js";

let dialog;
let form;

export function initSettings() {
  dialog = document.getElementById("settings-dialog");
  form = document.getElementById("settings-form");
  document.getElementById("settings-button").addEventListener("click", open);
  document.getElementById("settings-close").addEventListener("click", () => dialog.close());
  document.getElementById("load-models").addEventListener("click", loadModels);
  document.getElementById("test-connection").addEventListener("click", testConnection);
  form.addEventListener("submit", save);
  for (const radio of form.querySelectorAll("input[name=theme]")) {
    radio.addEventListener("change", () => setTheme(radio.value));
  }
}

async function open() {
  result("");
  form.elements.theme.value = savedTheme();
  dialog.showModal();
  try {
    const settings = await get("/api/settings");
    form.elements.provider.value = settings.provider || "local";
    form.elements.base_url.value = settings.base_url || "";
    form.elements.model.value = settings.model || "";
    form.elements.api_key.value = "";
    form.elements.api_key.placeholder = settings.api_key_set ? "A key is set (leave empty to keep it)" : "No key set";
  } catch {
    result("Could not load the settings.", true);
  }
}

async function save(event) {
  event.preventDefault();
  const body = {
    provider: form.elements.provider.value,
    base_url: form.elements.base_url.value.trim() || null,
    model: form.elements.model.value.trim() || null,
  };
  const key = form.elements.api_key.value;
  if (key) body.api_key = key;
  try {
    const settings = await post("/api/settings", body);
    form.elements.api_key.value = "";
    form.elements.api_key.placeholder = settings.api_key_set ? "A key is set (leave empty to keep it)" : "No key set";
    notify("Settings saved");
    result("Saved.");
  } catch (err) {
    result(err.message, true);
  }
}

async function loadModels() {
  const list = document.getElementById("model-options");
  result("Loading models…");
  try {
    const data = await get("/api/models", undefined, { quiet: true });
    clear(list);
    for (const model of data.models || []) {
      const name = typeof model === "string" ? model : model.id || model.name;
      if (name) list.append(el("option", { value: name }));
    }
    result(`${list.children.length} model(s) available from ${data.provider}; pick one in the Model field.`);
  } catch (err) {
    result(`Could not list models: ${err.message}`, true);
  }
}

async function testConnection() {
  result("Testing…");
  try {
    const reply = await post("/api/settings/test", {}, { quiet: true });
    result(`Connected to ${reply.model} in ${reply.latency_ms} ms. Reply: “${reply.reply}”`);
  } catch (err) {
    result(`Connection failed: ${err.message}`, true);
  }
}

function result(text, isError = false) {
  const box = document.getElementById("settings-result");
  box.textContent = text;
  box.classList.toggle("is-error", isError);
}
