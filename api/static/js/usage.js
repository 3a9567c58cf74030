// The usage indicator in the chat header: tokens in and out, estimated cost, and how full the
// model's context window is.
import { get } from "./api.js";
import { el } from "./dom.js";

let box = null;
let latest = 0;

export function initUsage() {
  box = document.getElementById("usage");
}

/** Shows the usage of `sessionId`, or hides the indicator when there is none. */
export async function refreshUsage(sessionId) {
  const request = ++latest;
  if (!sessionId) {
    hide();
    return;
  }
  let usage;
  try {
    usage = await get("/api/session/usage", { session_id: sessionId }, { quiet: true });
  } catch {
    if (request === latest) hide();
    return;
  }
  if (request === latest) show(usage);
}

function hide() {
  box.hidden = true;
  box.replaceChildren();
}

function show(usage) {
  const input = usage.input_tokens || 0;
  const output = usage.output_tokens || 0;
  box.replaceChildren(
    el("span", { class: "usage-tokens", title: `${whole(input)} tokens sent to the model, ${whole(output)} received` },
      el("span", { class: "visually-hidden", text: "Tokens: " }),
      `${short(input)} in · ${short(output)} out`),
    costPart(usage.estimated_cost, input + output),
    contextPart(usage),
  );
  box.hidden = false;
}

function costPart(cost, tokens) {
  if (typeof cost !== "number") {
    const why = tokens ? "No price is known for this model" : "Nothing used yet";
    return el("span", { class: "usage-cost muted", title: why },
      el("span", { class: "visually-hidden", text: "Estimated cost: " }), "cost n/a");
  }
  const text = cost > 0 && cost < 0.01 ? `$${cost.toFixed(4)}` : `$${cost.toFixed(2)}`;
  return el("span", { class: "usage-cost", title: "Estimated cost of this conversation" },
    el("span", { class: "visually-hidden", text: "Estimated cost: " }), text);
}

function contextPart({ context_tokens: used, context_length: size, threshold_tokens: threshold }) {
  if (typeof used !== "number" || !size) return null;
  const percent = Math.min(100, Math.round((used / size) * 100));
  const detail = `${whole(used)} of ${whole(size)} tokens`;
  const meter = el("meter", {
    class: "usage-meter",
    min: 0,
    max: size,
    value: Math.min(used, size),
    low: Math.round((threshold || size) * 0.8),
    high: threshold || size,
    optimum: 0,
    "aria-label": "Context window used",
    "aria-valuetext": `${percent}% (${detail})`,
  });
  const note = threshold ? `; older messages are compressed at ${whole(threshold)}` : "";
  return el("span", { class: "usage-context", title: `Context: about ${detail}${note}` },
    meter, el("span", { class: "usage-percent", "aria-hidden": "true", text: `${percent}% context` }));
}

function short(n) {
  if (n >= 1_000_000) return `${(n / 1_000_000).toFixed(1)}M`;
  if (n >= 10_000) return `${Math.round(n / 1000)}k`;
  if (n >= 1000) return `${(n / 1000).toFixed(1)}k`;
  return String(n);
}

function whole(n) {
  return Number(n).toLocaleString("en-US");
}
