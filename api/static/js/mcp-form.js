// The form of the Tools page that adds an MCP server or edits one: its name, how it is reached
// (a program over stdio, or an HTTP address), its environment or headers, timeouts and which of
// its tools to offer. The server checks what is sent and its reason shows beside the form.
// A secret comes back masked (MASK); sent back unchanged, it keeps the saved value. Whether a
// server is trusted is shown but never sent: only config.yaml and the CLI set it.
import { post } from "./api.js";
import { el } from "./dom.js";
import { showTest, testArea, TRUST_NOTE, UNTRUSTED_NOTE, whileBusy } from "./mcp-server-card.js";

const MASK = "••••••"; // as the server masks a written secret (hermes_agent.mcp_client.config)
const NAME_PATTERN = "[a-z0-9][a-z0-9_\\-]{0,31}";

/** `closed(name, saved)` runs after Cancel (`name` is the server edited, null for a new one)
 * or after a save. */
export function serverForm({ closed }) {
  let editing = null; // the server's status while editing; null for a new one
  const ids = (key) => `mcp-form-${key}`;
  const title = el("h3", { id: ids("title"), tabindex: -1 });
  const field = (key, label, input, hint) => el("div", { class: "stack" },
    el("label", { for: ids(key), text: label }), input,
    hint ? el("p", { id: ids(`${key}-hint`), class: "small muted", text: hint }) : null);
  const described = (key, hint) => (hint ? ids(`${key}-hint`) : undefined);
  const input = (key, { hint, ...attrs } = {}) => el("input", { id: ids(key), name: key, autocomplete: "off", spellcheck: "false", ...attrs, "aria-describedby": described(key, hint) });
  const area = (key, rows, hint) => el("textarea", { id: ids(key), name: key, rows, spellcheck: "false", "aria-describedby": described(key, hint) });

  const name = input("name", { required: true, maxlength: 32, pattern: NAME_PATTERN, autocapitalize: "none", hint: true });
  const radio = (value, text) => el("label", { class: "radio" },
    el("input", { type: "radio", name: "transport", value, onchange: () => showTransport(value) }), ` ${text}`);
  const command = input("command", { hint: true });
  const args = area("args", 3, true);
  const cwd = input("cwd");
  const env = area("env", 3, true);
  const url = input("url", { type: "url", placeholder: "https://", hint: true });
  const headers = area("headers", 2, true);
  const timeout = input("timeout", { type: "number", min: 1, max: 3600, step: "any", inputmode: "decimal" });
  const startup = input("startup", { type: "number", min: 1, max: 600, step: "any", inputmode: "decimal" });
  const include = area("include", 2, true);
  const exclude = area("exclude", 2);
  const enabled = el("input", { id: ids("enabled"), name: "enabled", type: "checkbox" });
  const trust = el("p", { class: "small muted" });
  const error = el("p", { id: ids("error"), class: "result is-error", role: "alert" });
  const test = testArea();
  const save = el("button", { type: "submit", class: "primary", text: "Save" });
  const tryIt = el("button", { type: "button", text: "Test connection", onclick: () => runTest() });
  const cancel = el("button", { type: "button", text: "Cancel", onclick: () => close(null) });

  const stdio = el("div", { class: "stack" },
    field("command", "Command", command, "The program to run, as a path or a name on PATH."),
    field("args", "Arguments", args, "One a line."),
    field("cwd", "Working folder", cwd),
    field("env", "Environment", env, `KEY=value, one a line. Write \${VAR} to take a value from the server's environment; ${MASK} keeps the saved value.`));
  const http = el("div", { class: "stack" },
    field("url", "URL", url, "Its streamable HTTP endpoint."),
    field("headers", "Headers", headers, `Name: value, one a line (Authorization: Bearer \${TOKEN}); ${MASK} keeps the saved value.`));
  const form = el("form", { class: "mcp-form stack", novalidate: true, "aria-labelledby": ids("title"), "aria-describedby": ids("error") },
    title,
    field("name", "Name", name, "1–32 lower-case letters, digits, - and _; the model sees its tools as mcp_<name>_<tool>."),
    el("fieldset", { class: "mcp-transport" }, el("legend", { text: "Transport" }),
      radio("stdio", "A program (stdio)"), radio("http", "An HTTP address (streamable HTTP)")),
    stdio, http,
    el("div", { class: "mcp-numbers" },
      field("timeout", "Tool call timeout (seconds)", timeout),
      field("startup", "Startup timeout (seconds)", startup)),
    field("include", "Offer only these tools", include, "Names or shell patterns (read_*), separated by commas or lines; empty offers every tool."),
    field("exclude", "Never offer these tools", exclude),
    el("label", { class: "switch" }, enabled, el("span", { text: "Use this server" })),
    trust,
    el("div", { class: "dialog-row" }, save, tryIt, cancel),
    error, test);
  form.addEventListener("submit", (event) => { event.preventDefault(); store(); });

  function showTransport(kind) {
    form.elements.transport.value = kind;
    stdio.hidden = kind !== "stdio";
    http.hidden = kind !== "http";
  }

  /** Fill the form from a server's status (its config as the server shows it), or empty. */
  function show(status) {
    editing = status;
    const config = status?.config;
    form.hidden = false;
    title.textContent = status ? `Edit ${status.name}` : "Add an MCP server";
    name.value = status?.name || "";
    name.readOnly = Boolean(status);
    command.value = config?.command || "";
    args.value = (config?.args || []).join("\n");
    cwd.value = config?.cwd || "";
    env.value = Object.entries(config?.env || {}).map(([k, v]) => `${k}=${v}`).join("\n");
    url.value = config?.url || "";
    headers.value = Object.entries(config?.headers || {}).map(([k, v]) => `${k}: ${v}`).join("\n");
    timeout.value = config?.timeout ?? 60;
    startup.value = config?.startup_timeout ?? 30;
    include.value = (config?.include || []).join("\n");
    exclude.value = (config?.exclude || []).join("\n");
    enabled.checked = config ? config.enabled : true;
    trust.textContent = config?.trusted ? `${TRUST_NOTE}.` : UNTRUSTED_NOTE;
    showTransport(config?.transport || "stdio");
    error.textContent = "";
    showTest(test, {});
    (status ? (config.transport === "http" ? url : command) : name).focus();
  }

  function hide() {
    form.hidden = true;
  }

  function close(saved) {
    hide();
    closed(saved ?? editing?.name ?? null, saved !== null);
  }

  /** The server as the API takes it; throws an Error saying what is wrong with a line. */
  function read() {
    const kind = form.elements.transport.value;
    const onStdio = kind === "stdio";
    return {
      command: onStdio ? command.value.trim() || null : null,
      args: onStdio ? lines(args.value) : [],
      cwd: onStdio ? cwd.value.trim() || null : null,
      env: onStdio ? pairs(env.value, "=", "Environment", "KEY=value") : {},
      url: onStdio ? null : url.value.trim() || null,
      headers: onStdio ? {} : pairs(headers.value, ":", "Headers", "Name: value"),
      enabled: enabled.checked,
      timeout: number(timeout, 60),
      startup_timeout: number(startup, 30),
      include: patterns(include.value),
      exclude: patterns(exclude.value),
    };
  }

  // The form's settings, or null with the mistake shown when a line does not read.
  function readOrSay() {
    error.textContent = "";
    try {
      return read();
    } catch (err) {
      error.textContent = err.message;
      return null;
    }
  }

  async function store() {
    const server = readOrSay();
    if (!server) return;
    await whileBusy(save, async () => {
      try {
        const reply = await post("/api/mcp/server/save", { name: name.value.trim(), server }, { quiet: true });
        close(reply.server.name);
      } catch (err) {
        error.textContent = `Not saved: ${err.message}`;
      }
    });
  }

  async function runTest() {
    const server = readOrSay();
    if (!server) return;
    await whileBusy(tryIt, async () => {
      showTest(test, { pending: true });
      try {
        const status = await post("/api/mcp/server/test", { name: name.value.trim(), server }, { quiet: true });
        showTest(test, { status });
      } catch (err) {
        showTest(test, { error: err.message });
      }
    });
  }

  hide();
  return { node: form, show, hide };
}

function lines(text) {
  return text.split("\n").map((line) => line.trim()).filter(Boolean);
}

function patterns(text) {
  return text.split(/[,\n]/).map((part) => part.trim()).filter(Boolean);
}

/** "KEY=value" (or "Name: value") lines as an object; a line without the separator is an error. */
function pairs(text, separator, label, shape) {
  const found = {};
  text.split("\n").forEach((line, index) => {
    if (!line.trim()) return;
    const at = line.indexOf(separator);
    if (at < 1) throw new Error(`${label}, line ${index + 1}: write it as ${shape}.`);
    found[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  });
  return found;
}

function number(input, fallback) {
  if (input.validity.badInput) throw new Error(`${input.labels[0].textContent}: write a number of seconds.`);
  const text = input.value.trim();
  return text ? Number(text) : fallback;
}
