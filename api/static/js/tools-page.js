// The Tools page of the settings: the MCP servers of config.yaml, each with its state, what it
// offers, an on/off switch, Edit, Test connection and Remove ("Add server" opens the form of
// mcp-form.js in place of the list), then the built-in tools (which ones are on is the
// `enabled_tools` setting, shown here and not changed). A test's findings stay under its server until
// the page is closed, so reloading the list after another change does not wipe them.
import { get, post } from "./api.js";
import { clear, el, showResult } from "./dom.js";
import { serverForm } from "./mcp-form.js";
import { firstSentence, serverCard, showTest, whileBusy } from "./mcp-server-card.js";
import { pageDialog } from "./page-dialog.js";
import { confirmDialog } from "./prompt-dialog.js";

const NO_SEARCH = "Off: no search service is set (web_search_backend in config.yaml or `hermes config set web_search_backend searxng`)";

let page;
let listPage;
let builtinList;
let serverList;
let configError;
let result;
let addButton;
let form;
const tests = new Map(); // server name → the outcome of its last Test connection

export function initToolsPage() {
  const button = document.getElementById("tools-open");
  button.addEventListener("click", () => {
    page ??= build();
    page.open(button);
  });
}

function build() {
  const built = pageDialog({ id: "tools-dialog", title: "Tools", onOpen: () => { tests.clear(); showList(); load(); } });
  builtinList = el("ul", { id: "builtin-tools", class: "builtin-list" });
  serverList = el("ul", { id: "mcp-servers", class: "mcp-list-of-servers" });
  configError = el("p", { class: "mcp-error", hidden: true });
  result = el("p", { id: "tools-result", class: "result", role: "status" });
  addButton = el("button", { type: "button", class: "primary", text: "Add server", onclick: () => openForm(null) });
  listPage = el("div", { id: "tools-list-page", class: "stack" },
    el("p", { class: "small muted", text: "What the agent can do besides answering: the tools of the MCP servers you add, and its own." }),
    el("section", { class: "tools-section", "aria-labelledby": "tools-mcp-title" },
      el("h3", { id: "tools-mcp-title", text: "MCP servers" }),
      el("p", { class: "small muted", text: "Programs or web services that give the agent more tools, saved in config.yaml (mcp_servers). They start with the first conversation." }),
      configError,
      el("div", { class: "dialog-row" }, addButton),
      result,
      serverList),
    el("section", { class: "tools-section", "aria-labelledby": "tools-builtin-title" },
      el("h3", { id: "tools-builtin-title", text: "Built-in tools" }),
      el("p", { class: "small muted", text: "Which are on is the enabled_tools setting (config.yaml or `hermes config set enabled_tools …`); this page only shows it." }),
      builtinList));
  form = serverForm({ closed });
  built.body.append(listPage, form.node);
  return built;
}

async function load() {
  try {
    const [tools, settings] = await Promise.all([
      get("/api/tools", undefined, { quiet: true }),
      get("/api/settings", undefined, { quiet: true }).catch(() => null),
    ]);
    showBuiltin(tools.builtin, settings?.web_search_backend);
    showServers(tools.mcp_servers, tools.mcp_error);
  } catch (err) {
    showResult(result, `Could not load the tools: ${err.message}`, "error");
  }
}

function showBuiltin(tools, searchBackend) {
  clear(builtinList).append(...tools.map((tool) => el("li", { class: tool.enabled ? "builtin-tool" : "builtin-tool is-off", "data-name": tool.name },
    el("div", { class: "builtin-head" },
      el("code", { class: "builtin-name", text: tool.name }),
      el("span", { class: "builtin-state", text: tool.enabled ? "On" : "Off" })),
    el("p", { class: "builtin-description", text: firstSentence(tool.description) }),
    tool.name === "web_search" && searchBackend === "" ? el("p", { class: "builtin-note", text: NO_SEARCH }) : null)));
}

function showServers(servers, error) {
  configError.hidden = !error;
  configError.textContent = error ? `config.yaml's mcp_servers cannot be read: ${error}` : "";
  clear(serverList).append(...servers.map(drawCard));
  if (!servers.length) serverList.append(el("li", { class: "small muted", text: "No MCP server yet." }));
}

/** A server's card, with what its last test found. */
function drawCard(status) {
  const node = serverCard(status, { toggle, edit: openForm, test, remove });
  const outcome = tests.get(status.name);
  if (outcome) showTest(node.querySelector(".mcp-test"), outcome);
  return node;
}

function card(name) {
  return serverList.querySelector(`li[data-name="${CSS.escape(name)}"]`);
}

/** Put a server's new status in place of its card, focus staying on the same kind of control. */
function replaceCard(status, focusSelector) {
  const fresh = drawCard(status);
  card(status.name)?.replaceWith(fresh);
  fresh.querySelector(focusSelector)?.focus();
}

async function toggle(status, box) {
  box.disabled = true;
  try {
    const reply = await post("/api/mcp/server/enable", { name: status.name, enabled: box.checked }, { quiet: true });
    showResult(result, `${status.name} is ${box.checked ? "on" : "off"}.`, "ok");
    replaceCard(reply.server, "input[type=checkbox]");
  } catch (err) {
    box.checked = !box.checked;
    box.disabled = false;
    showResult(result, `Not changed: ${err.message}`, "error");
  }
}

function test(status, button) {
  return whileBusy(button, async () => {
    showTest(card(status.name).querySelector(".mcp-test"), { pending: true });
    let outcome;
    try {
      outcome = { status: await post("/api/mcp/server/test", { name: status.name }, { quiet: true }) };
    } catch (err) {
      outcome = { error: err.message };
    }
    tests.set(status.name, outcome);
    const area = card(status.name)?.querySelector(".mcp-test"); // the card may have been redrawn
    if (area) showTest(area, outcome);
  });
}

async function remove(status, button) {
  const sure = await confirmDialog({
    title: `Remove ${status.name}?`,
    message: `${status.name} is taken out of config.yaml and its process is stopped. Add it again to get its tools back.`,
    confirmLabel: "Remove",
    returnFocus: () => (button.isConnected ? button : addButton),
  });
  if (!sure) return;
  try {
    await post("/api/mcp/server/delete", { name: status.name }, { quiet: true });
    tests.delete(status.name);
    showResult(result, `Removed ${status.name}.`, "ok");
    await load();
    addButton.focus();
  } catch (err) {
    showResult(result, `Not removed: ${err.message}`, "error");
  }
}

function showList() {
  form.hide();
  listPage.hidden = false;
}

function openForm(status) {
  showResult(result, "");
  listPage.hidden = true;
  form.show(status);
}

/** Back from the form: after a save, the list is read again and says so. */
async function closed(name, saved) {
  listPage.hidden = false;
  if (saved) {
    tests.delete(name);
    await load();
    showResult(result, `Saved ${name}.`, "ok");
  }
  const target = name && card(name);
  (target?.querySelector("button") || addButton).focus();
}
