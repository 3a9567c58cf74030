// The live view of one run: streamed text, tool cards, approvals, errors, status notes.
import { el } from "./dom.js";
import { renderMarkdown } from "./markdown.js";
import { bubble, reasoningBlock, toolCard } from "./messages.js";
import { post } from "./api.js";

const CHOICES = [
  ["once", "Allow once"],
  ["session", "Allow for this session"],
  ["always", "Always allow"],
  ["deny", "Deny"],
];

/** Builds the assistant bubble a run streams into and returns the SSE handlers that fill it. */
export function liveRun(container, sessionId, hooks = {}) {
  const node = bubble("assistant", "is-live");
  const text = el("div", { class: "live-text" });
  const status = el("p", { class: "run-status", role: "status", "aria-live": "polite" });
  node.body.append(text, status);
  container.append(node);
  let answer = "";
  let reasoning = null;
  let pending = false;
  const openTools = [];

  const paint = () => {
    pending = false;
    text.replaceChildren(renderMarkdown(answer));
    hooks.scroll?.();
  };
  const schedule = () => {
    if (!pending) {
      pending = true;
      requestAnimationFrame(paint);
    }
  };

  return {
    token: ({ text: piece }) => {
      answer += piece || "";
      status.textContent = "";
      schedule();
    },
    reasoning: ({ text: piece }) => {
      if (!reasoning) {
        reasoning = reasoningBlock("");
        node.body.insertBefore(reasoning, text);
      }
      reasoning.appendText(piece || "");
    },
    tool: ({ name, args, preview }) => {
      const card = toolCard({ name, args: args ?? preview, status: "running…" });
      card.toolName = name;
      openTools.push(card);
      node.body.insertBefore(card, status);
      hooks.scroll?.();
    },
    tool_complete: ({ name, duration, is_error: isError }) => {
      const index = openTools.findIndex((card) => card.toolName === name);
      const card = index >= 0 ? openTools.splice(index, 1)[0] : null;
      const seconds = typeof duration === "number" ? ` in ${duration.toFixed(1)} s` : "";
      card?.setStatus(isError ? `failed${seconds}` : `done${seconds}`, Boolean(isError));
    },
    approval: (data) => {
      node.body.insertBefore(approvalCard(sessionId, data), status);
      hooks.scroll?.();
    },
    status: ({ text: note }) => { status.textContent = note || ""; },
    metering: ({ tps }) => {
      if (typeof tps === "number" && tps > 0) status.textContent = `${tps.toFixed(1)} tokens/s`;
    },
    compressed: ({ message }) => { status.textContent = message || "History compressed"; },
    title: () => hooks.titleChanged?.(),
    done: ({ session }) => hooks.done?.(session),
    apperror: ({ message, hint, type }) => {
      const box = el("div", { class: "run-error", role: "alert" },
        el("strong", { text: `Error${type && type !== "error" ? ` (${type})` : ""}: ` }), message || "The run failed");
      if (hint) box.append(el("p", { class: "hint", text: hint }));
      node.body.insertBefore(box, status);
    },
    cancel: ({ message }) => { status.textContent = message || "Cancelled"; },
  };
}

function approvalCard(sessionId, { approval_id: approvalId, command, reason, choices }) {
  const allowed = Array.isArray(choices) && choices.length ? choices : CHOICES.map(([c]) => c);
  const buttons = el("div", { class: "approval-buttons" });
  const card = el("div", { class: "approval", role: "group", "aria-label": "Approval needed" },
    el("p", { class: "approval-title", text: "Approval needed" }),
    reason ? el("p", { text: reason }) : null,
    el("pre", { text: command || "" }),
    buttons);
  for (const [choice, label] of CHOICES.filter(([c]) => allowed.includes(c))) {
    buttons.append(el("button", {
      type: "button",
      class: choice === "deny" ? "danger" : "",
      text: label,
      onclick: async () => {
        for (const b of buttons.querySelectorAll("button")) b.disabled = true;
        try {
          await post("/api/approval/respond", { session_id: sessionId, choice, approval_id: approvalId });
          buttons.replaceWith(el("p", { class: "approval-answer", text: `Answered: ${label}` }));
        } catch {
          for (const b of buttons.querySelectorAll("button")) b.disabled = false;
        }
      },
    }));
  }
  return card;
}
