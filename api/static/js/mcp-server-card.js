// One MCP server on the Tools page: a dot and a word for its state, its last error, how it is
// reached, whether it is trusted, and what it offers (tools, resources, prompts) in lists that
// open; also what a connection test found. Names, errors and descriptions come from config.yaml
// and from the server itself, so they are hostile input: everything goes in as text.
import { clear, el } from "./dom.js";

const STATES = {
  idle: "Starts with the first conversation",
  starting: "Starting…",
  ready: "Ready",
  restarting: "Restarting…",
  failed: "Failed",
  stopped: "Stopped",
  disabled: "Off",
};
export const TRUST_NOTE = "Trusted: tools run without asking — set with `hermes mcp add --trust`";
export const UNTRUSTED_NOTE = "Not trusted: a tool not marked read-only asks before it runs.";

/** `handlers`: `{ toggle(status, box), edit(status, button), test(status, button), remove(status, button) }`. */
export function serverCard(status, handlers) {
  const { name, config, state } = status;
  const toggle = el("input", { type: "checkbox", checked: config.enabled });
  toggle.addEventListener("change", () => handlers.toggle(status, toggle));
  const button = (text, action, extra = {}) => {
    const node = el("button", { type: "button", text, "aria-label": `${text} ${name}`, ...extra });
    node.addEventListener("click", () => action(status, node));
    return node;
  };
  const test = testArea();
  return el("li", { class: `mcp-server is-${state}`, "data-name": name },
    el("div", { class: "mcp-head" },
      el("h4", { class: "mcp-name", text: name }),
      el("span", { class: "mcp-state" }, el("span", { class: "mcp-dot", "aria-hidden": "true" }), Object.hasOwn(STATES, state) ? STATES[state] : state)),
    status.error ? el("p", { class: "mcp-error", text: status.error }) : null,
    el("p", { class: "mcp-where", text: reachedBy(config) }),
    el("p", { class: "small muted", text: about(status) }),
    state === "ready" || status.tools.length ? offerings(status) : null,
    el("div", { class: "mcp-actions" },
      el("label", { class: "switch" }, toggle, el("span", { text: "Use" }), el("span", { class: "visually-hidden", text: ` ${name}` })),
      button("Edit", handlers.edit),
      button("Test connection", handlers.test),
      button("Remove…", handlers.remove, { class: "danger", "aria-label": `Remove ${name}…` })),
    test);
}

/** The line under the address: trust, the server's own name, restarts. */
function about({ config, server, restarts }) {
  const parts = [config.trusted ? `${TRUST_NOTE}.` : UNTRUSTED_NOTE];
  if (server?.name) parts.push(`It calls itself ${server.name}${server.version ? ` ${server.version}` : ""}.`);
  if (restarts) parts.push(`Restarted ${restarts} time${restarts === 1 ? "" : "s"}.`);
  return parts.join(" ");
}

/** "stdio: python -m server stdio (in /srv)" or "HTTP: https://…". */
export function reachedBy(config) {
  if (config.transport === "http") return `HTTP: ${config.url}`;
  const line = [config.command, ...config.args].map(word).join(" ");
  return `stdio: ${line}${config.cwd ? ` (in ${config.cwd})` : ""}`;
}

function word(text) {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : JSON.stringify(text);
}

/** The counts of what a server offers, each a list that opens. */
export function offerings(status, { open = false } = {}) {
  const { tools, resources, prompts, config } = status;
  const filtered = tools.filter((tool) => !tool.offered).length;
  return el("div", { class: "mcp-offers" },
    group(`${plural(tools.length, "tool")}${filtered ? `, ${filtered} filtered out by include/exclude` : ""}`,
      tools.map((tool) => toolItem(tool, config.trusted)), open),
    resources.length ? group(plural(resources.length, "resource"), resources.map(resourceItem)) : null,
    prompts.length ? group(plural(prompts.length, "prompt"), prompts.map(promptItem)) : null);
}

function group(summary, items, open = false) {
  if (!items.length) return el("p", { class: "small muted", text: `No ${summary.replace(/^0 /, "")}.` });
  return el("details", { class: "mcp-list", open },
    el("summary", { text: summary }),
    el("ul", {}, ...items));
}

function toolItem(tool, trusted) {
  const tags = [
    tool.read_only ? tag("read-only", "Marked read-only by its server: runs without asking") : null,
    !tool.read_only && !trusted ? tag("asks first", "Not marked read-only: asks before it runs") : null,
    tool.offered ? null : tag("filtered out", "Left out by the include/exclude lists: not offered to the model"),
  ];
  return el("li", { class: tool.offered ? "mcp-tool" : "mcp-tool is-filtered", "data-name": tool.name },
    el("code", { text: tool.name }), ...tags,
    tool.description ? el("p", { class: "mcp-description", text: firstLine(tool.description) }) : null);
}

function resourceItem({ uri, name, description }) {
  return el("li", {}, el("code", { text: uri }), name && name !== uri ? ` ${name}` : null,
    description ? el("p", { class: "mcp-description", text: firstLine(description) }) : null);
}

function promptItem({ name, description, arguments: args }) {
  return el("li", {}, el("code", { text: name }), args?.length ? ` (${args.join(", ")})` : null,
    description ? el("p", { class: "mcp-description", text: firstLine(description) }) : null);
}

function tag(text, title) {
  return el("span", { class: "mcp-tag", text, title });
}

export function firstLine(text) {
  return text.trim().split("\n")[0];
}

/** The first sentence of a description, for a list that shows one line a tool. */
export function firstSentence(text) {
  const line = firstLine(text);
  return line.match(/^.*?[.!?](?=\s|$)/)?.[0] ?? line;
}

export function plural(count, noun) {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** Run `work` with `button` marked busy: aria-disabled rather than disabled, so a keyboard
 * user's focus stays on it; clicks meanwhile are ignored. */
export async function whileBusy(button, work) {
  if (button.getAttribute("aria-disabled") === "true") return;
  button.setAttribute("aria-disabled", "true");
  try {
    await work();
  } finally {
    button.removeAttribute("aria-disabled");
  }
}

/** Where a connection test reports: a status line (announced) and what it found. */
export function testArea() {
  return el("div", { class: "mcp-test" },
    el("p", { class: "mcp-test-line", role: "status" }),
    el("div", { class: "mcp-found" }));
}

/** Show in `area` what a test found: `{ pending }`, `{ status }` (ready or not), `{ error }`,
 * or nothing (`{}`). */
export function showTest(area, outcome) {
  const line = area.querySelector(".mcp-test-line");
  const found = clear(area.querySelector(".mcp-found"));
  clear(line);
  area.setAttribute("aria-busy", outcome.pending ? "true" : "false");
  area.classList.remove("is-error", "is-ok");
  if (!outcome.pending && !outcome.error && !outcome.status) return;
  if (outcome.pending) {
    line.append(el("span", { class: "spinner", "aria-hidden": "true" }), " Connecting…");
    return;
  }
  if (outcome.error) {
    area.classList.add("is-error");
    line.textContent = `Not tested: ${outcome.error}`;
    return;
  }
  const { status } = outcome;
  if (status.state !== "ready") {
    area.classList.add("is-error");
    line.textContent = `Could not connect: ${status.error || "it did not finish connecting in time"}`;
    return;
  }
  const { name, version } = status.server || {};
  const counts = [plural(status.tools.length, "tool"), plural(status.resources.length, "resource"), plural(status.prompts.length, "prompt")];
  area.classList.add("is-ok");
  line.textContent = `Connected${name ? ` to ${name}${version ? ` ${version}` : ""}` : ""}: ${counts.join(", ")}.`;
  found.append(offerings(status, { open: true }));
}
