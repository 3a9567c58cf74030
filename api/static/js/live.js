// The live view of one run: streamed text, tool cards, approvals, errors, status notes.
import { el } from "./dom.js";
import { markdownStream } from "./markdown.js";
import { bubble, outcomeText, partialMarker, reasoningBlock, stopNote, toolCard } from "./messages.js";
import { post } from "./api.js";

const CHOICES = [
  ["once", "Allow once"],
  ["session", "Allow for this session"],
  ["always", "Always allow"],
  ["deny", "Deny"],
];
const RECONNECTING = "Reconnecting…";

/** Builds the assistant bubble a run streams into and returns the SSE handlers that fill it. */
export function liveRun(container, sessionId, hooks = {}) {
  const node = bubble("assistant", "is-live");
  // Busy until the run ends, so screen readers announce the answer once, not every token.
  node.setAttribute("aria-busy", "true");
  const text = el("div", { class: "live-text" });
  const status = el("p", { class: "run-status", role: "status", "aria-live": "polite" });
  node.body.append(text, status);
  container.append(node);
  const render = markdownStream(text);
  let answer = "";
  let reasoning = null;
  let pending = false;
  const openTools = [];
  const approvals = new Map();

  const paint = () => {
    pending = false;
    render(answer);
    hooks.scroll?.();
  };
  const schedule = () => {
    if (!pending) {
      pending = true;
      requestAnimationFrame(paint);
    }
  };
  const setStatus = (note) => {
    status.textContent = note || "";
    status.classList.toggle("is-reconnecting", note === RECONNECTING);
  };
  const end = () => node.removeAttribute("aria-busy");

  return {
    token: ({ text: piece }) => {
      answer += piece || "";
      if (status.textContent) setStatus(""); // text flows again: a note (even "Reconnecting…") is over
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
      card?.setStatus(outcomeText(isError, duration), Boolean(isError));
    },
    approval: (data) => {
      const card = approvalCard(sessionId, data);
      approvals.set(data.approval_id, card);
      node.body.insertBefore(card, status);
      hooks.scroll?.();
    },
    status: ({ text: note }) => setStatus(note),
    metering: ({ tps }) => {
      if (typeof tps === "number" && tps > 0) setStatus(`${tps.toFixed(1)} tokens/s`);
    },
    compressed: ({ message }) => setStatus(message || "History compressed"),
    title: () => hooks.titleChanged?.(),
    done: ({ session }) => {
      paint();
      end();
      hooks.done?.(session);
    },
    apperror: ({ message, hint, type }) => {
      const box = el("div", { class: "run-error", role: "alert" },
        el("strong", { text: `Error${type && type !== "error" ? ` (${type})` : ""}: ` }), message || "The run failed");
      if (hint) box.append(el("p", { class: "hint", text: hint }));
      node.body.insertBefore(box, status);
      end();
    },
    cancel: () => {
      paint();
      setStatus("");
      end();
      showStopped(container, node, answer);
      hooks.scroll?.();
    },
    /** The connection to the run: "reconnecting" while it is down, "live" once it is back. */
    approval_answered: ({ approval_id: approvalId, choice }) => approvals.get(approvalId)?.answer(choice),
    connection: (state) => {
      if (state === "reconnecting") setStatus(RECONNECTING);
      else if (status.textContent === RECONNECTING) setStatus("");
    },
  };
}

/** Shows a stop as a reload shows the saved turn: the answer so far marked, then a quiet note. */
function showStopped(container, node, answer) {
  const cut = Boolean(answer.trim());
  node.classList.toggle("is-partial", cut);
  if (cut) node.body.querySelector(".run-status").before(partialMarker(true));
  else if (!node.body.querySelector(".reasoning, .tool-card")) node.remove(); // nothing was said
  container.append(stopNote());
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
          card.answer(choice);
        } catch {
          for (const b of buttons.querySelectorAll("button")) b.disabled = false;
        }
      },
    }));
  }
  /** Shows the decision in place of the buttons (once: a replayed run may report it again). */
  card.answer = (choice) => {
    if (!buttons.isConnected) return;
    const label = CHOICES.find(([c]) => c === choice)?.[1] || choice;
    buttons.replaceWith(el("p", { class: "approval-answer", text: `Answered: ${label}` }));
  };
  return card;
}
