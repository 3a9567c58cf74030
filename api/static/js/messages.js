// Renders a session's transcript: bubbles, attached files, error, stop and partial markers, tool cards,
// reasoning.
import { attachmentList } from "./attachment-chips.js";
import { copyButton } from "./clipboard.js";
import { el } from "./dom.js";
import { renderMarkdown } from "./markdown.js";

const SNIPPET = 600;
const FOLD_LINES = 12; // a message longer than this (or FOLD_CHARS) folds behind "Show more"
const FOLD_CHARS = 800;
const DELEGATE = "delegate_task";
const DELEGATE_HEADING = "Sub-agent answer:\n";
const DELEGATE_SESSION_LINE = /\s*\[sub-agent session: [^\]\n]*\]\s*$/;
let folds = 0;

export function textOf(content) {
  if (content === null || content === undefined) return "";
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    // Only text parts are what was said; an attached file's part names it (for search) but is
    // shown as the file, not as text.
    const said = (part) => (typeof part === "string" ? part : part?.type && part.type !== "text" ? "" : part?.text ?? "");
    return content.map(said).join("");
  }
  return JSON.stringify(content);
}

export function snippet(text, limit = SNIPPET) {
  const value = typeof text === "string" ? text : JSON.stringify(text ?? "", null, 2);
  return value.length > limit ? `${value.slice(0, limit)}…` : value;
}

/** A collapsible card for one tool call; `result` and `status` may come later. */
export function toolCard({ name, args, result, status }) {
  if (name === DELEGATE) return delegateCard({ args, result, status });
  const state = el("span", { class: "tool-state", text: status || "" });
  const summary = el("summary", {}, el("span", { class: "tool-name", text: `Tool: ${name || "tool"}` }), state);
  const card = el("details", { class: "tool-card" }, summary);
  if (args !== undefined && args !== "") {
    card.append(el("div", { class: "tool-label", text: "Arguments" }), el("pre", { text: snippet(prettyArgs(args)) }));
  }
  const resultBox = el("pre", { class: "tool-result", text: result ? snippet(result) : "" });
  resultBox.hidden = !result;
  card.append(resultBox);
  card.setStatus = (text, isError = false) => {
    state.textContent = text;
    card.classList.toggle("is-error", isError);
  };
  card.setResult = (text) => {
    resultBox.textContent = snippet(text);
    resultBox.hidden = !text;
  };
  return card;
}

function prettyArgs(args) {
  if (typeof args !== "string") return JSON.stringify(args, null, 2);
  try {
    return JSON.stringify(JSON.parse(args), null, 2);
  } catch {
    return args;
  }
}

/**
 * A delegate_task call: titled with the first line of its task; opened, the task and the
 * sub-agent's answer as Markdown (an error result, as text). The result's first and last
 * lines are the heading and session line hermes_agent/delegation.py writes.
 */
function delegateCard({ args, result, status }) {
  const task = String(argsObject(args).task ?? "");
  const title = task.trim().split("\n", 1)[0] || "task";
  const state = el("span", { class: "tool-state", text: status || "" });
  const summary = el("summary", {}, el("span", { class: "tool-name delegate-title", text: `Sub-agent: ${title}` }), state);
  const answerLabel = el("div", { class: "tool-label", text: "Answer" });
  const answer = el("div", { class: "delegate-answer" });
  const card = el("details", { class: "tool-card delegate-card" }, summary,
    el("div", { class: "tool-label", text: "Task" }), el("div", { class: "delegate-task plain", text: task }),
    answerLabel, answer);
  card.setStatus = (text, isError = false) => {
    state.textContent = text;
    card.classList.toggle("is-error", isError);
  };
  card.setResult = (text) => {
    const body = String(text || "").replace(DELEGATE_SESSION_LINE, "");
    answer.replaceChildren(body.startsWith(DELEGATE_HEADING)
      ? renderMarkdown(body.slice(DELEGATE_HEADING.length))
      : el("pre", { text: snippet(body) }));
    answerLabel.hidden = answer.hidden = !body;
  };
  card.setResult(result);
  return card;
}

function argsObject(args) {
  if (args && typeof args === "object") return args;
  try {
    const parsed = JSON.parse(args || "{}");
    return parsed && typeof parsed === "object" ? parsed : {};
  } catch {
    return {};
  }
}

export function reasoningBlock(text) {
  const body = el("div", { class: "reasoning-text", text });
  const block = el("details", { class: "reasoning" }, el("summary", { text: "Reasoning" }), body);
  block.appendText = (more) => { body.textContent += more; };
  return block;
}

/**
 * Your message as you typed it. A long one shows its first dozen lines and a "Show more"
 * button (aria-expanded, aria-controls) that unfolds it; all of the text stays in the page,
 * so search, copy and Edit see it whole.
 */
export function userText(text) {
  const body = el("div", { class: "plain", text });
  if (text.split("\n").length <= FOLD_LINES && text.length <= FOLD_CHARS) return body;
  body.id = `message-text-${++folds}`;
  body.classList.add("is-folded");
  const toggle = el("button", {
    type: "button",
    class: "fold-toggle link",
    text: "Show more",
    "aria-expanded": "false",
    "aria-controls": body.id,
  });
  toggle.addEventListener("click", () => {
    const folded = body.classList.toggle("is-folded");
    toggle.textContent = folded ? "Show more" : "Show less";
    toggle.setAttribute("aria-expanded", String(!folded));
  });
  const out = document.createDocumentFragment();
  out.append(body, toggle);
  return out;
}

export function bubble(role, extraClass = "") {
  const label = role === "user" ? "You" : "Assistant";
  const body = el("div", { class: "bubble-body" });
  const node = el("article", { class: `msg msg-${role} ${extraClass}`.trim(), "aria-label": label }, body);
  node.body = body;
  return node;
}

/**
 * DOM for the visible messages of a transcript (tool results are folded into their calls).
 * `offset` is the transcript index of `messages[0]`: each bubble keeps its own index in
 * `data-index`, which edits of the transcript refer to.
 */
export function renderTranscript(messages, offset = 0) {
  const results = new Map();
  for (const m of messages) {
    if (m?.role === "tool" && m.tool_call_id) results.set(m.tool_call_id, m);
  }
  const out = document.createDocumentFragment();
  messages.forEach((m, i) => {
    if (!m || m.role === "system" || m.role === "tool") return;
    const node = renderMessage(m, results);
    node.dataset.index = String(offset + i);
    out.append(node);
  });
  return out;
}

/**
 * The note a stopped turn ends with. A stop is the user's choice, not a failure: a quiet note,
 * never the error marker. The live view shows the same note when the run stops.
 */
export function stopNote() {
  const node = bubble("assistant", "is-stopped");
  node.body.append(el("p", { class: "stopped-marker", role: "note", text: "Stopped" }));
  return node;
}

/** What an answer cut short says under it: stopped by the user, or ended by a failure. */
export function partialMarker(stopped) {
  const text = stopped ? "Stopped — partial answer" : "Partial answer (the run stopped early)";
  return el("p", { class: "partial-marker", text });
}

function renderMessage(m, results) {
  if (m._stopped && !m._partial) return stopNote();
  const classes = [m._error ? "is-error" : "", m._partial ? "is-partial" : ""].join(" ");
  const node = bubble(m.role === "user" ? "user" : "assistant", classes);
  if (m.reasoning) node.body.append(reasoningBlock(String(m.reasoning)));
  const text = textOf(m.content);
  if (m._error) {
    // The server writes the marker as Markdown: a bold label, the message, an italic hint.
    node.body.append(el("div", { class: "error-marker", role: "note" }, renderMarkdown(text)));
  } else if (m.role === "user") {
    node.sourceText = text;
    node.body.append(userText(text));
    const files = attachmentList(m.attachments);
    if (files) node.body.append(files);
    // What a retry or an edit sends again: the uploaded files, by their descriptions.
    node.files = (m.attachments || []).filter((entry) => entry?.id);
  } else if (text) {
    node.body.append(renderMarkdown(text));
  }
  for (const call of m.tool_calls || []) {
    const fn = call.function || call;
    const result = results.get(call.id);
    const card = toolCard({ name: fn.name, args: fn.arguments, result: result ? textOf(result.content) : "" });
    card.setStatus(toolOutcome(result), Boolean(result?._is_error));
    node.body.append(card);
  }
  if (m._partial) node.body.append(partialMarker(Boolean(m._stopped)));
  if (m.role !== "user" && text && !m._error) {
    // The Markdown as the model wrote it, which pastes well into notes and other chats.
    // Branch: a new conversation from the start up to this answer (see chat.js).
    const branch = el("button", { type: "button", class: "branch-here link", text: "Branch", title: "Start a new conversation from here", "aria-label": "Branch from this answer" });
    node.append(el("div", { class: "msg-tools" }, copyButton(text, { className: "copy-answer link", ariaLabel: "Copy this answer" }), branch));
  }
  return node;
}

/** "done in 1.2 s" or "failed", the state a tool card shows once its call has ended. */
export function outcomeText(isError, duration) {
  const seconds = typeof duration === "number" ? ` in ${duration.toFixed(1)} s` : "";
  return `${isError ? "failed" : "done"}${seconds}`;
}

/** The outcome of a stored call, or "no result" for one whose result was never stored. */
function toolOutcome(result) {
  return result ? outcomeText(result._is_error, result._duration) : "no result";
}
