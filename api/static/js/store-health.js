// A notice while the conversation database needs the user: found damaged and set aside (its
// rows wait for `hermes state repair`) or not usable at all. Turns go on either way, and this
// browser's conversations are kept in their own files, so it informs rather than alarms.
import { request } from "./api.js";

/** The notice's text for the store part of /health, or "" when all is well. */
function describe(store) {
  if (store.status === "unavailable") {
    return "Conversations are not being recorded in state.db (" + (store.error || "it cannot be opened")
      + "), so the terminal and chat apps do not see them. This browser keeps its own copy.";
  }
  const waiting = store.unrecovered || [];
  if (!waiting.length) return "";
  return `The conversation database was found damaged and set aside as ${waiting.join(", ")}; `
    + "a new one was started. Conversations in this browser are kept. "
    + "Run “hermes state repair” to recover the rest.";
}

export async function showStoreHealth() {
  const health = await request("GET", "/health", undefined, { quiet: true }).catch(() => null);
  const text = health?.store ? describe(health.store) : "";
  const box = document.getElementById("store-notice");
  box.textContent = text;
  box.hidden = !text;
}
