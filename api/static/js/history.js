// Earlier messages of a long conversation: the pane shows the latest page, and older pages are
// fetched as the reader scrolls to the top (or presses the button), one request at a time.
import { get } from "./api.js";
import { el } from "./dom.js";
import { renderTranscript } from "./messages.js";

export const PAGE_SIZE = 100;
const NEAR_TOP_PX = 150;

/** Wires paging to the message log; returns { reset(sessionId, offset), offset() }. */
export function initHistory(log) {
  const state = { sessionId: null, offset: 0, loading: false, generation: 0 };
  const button = el("button", { type: "button", class: "link", text: "Load earlier messages" });
  const note = el("span", { role: "status", "aria-live": "polite" });
  const marker = el("div", { class: "history-marker" }, note, button);

  const loadOlder = async () => {
    if (state.loading || state.offset <= 0 || !state.sessionId) return;
    const generation = state.generation;
    state.loading = true;
    showState(marker, note, button, "loading");
    let session = null;
    try {
      ({ session } = await get("/api/session",
        { session_id: state.sessionId, msg_limit: PAGE_SIZE, msg_before: state.offset }));
    } catch {
      // The notice says what failed; the button stays for another try.
    }
    if (generation !== state.generation) return; // another session (or a reload) meanwhile
    state.loading = false;
    // Everything above the reader's place changes (older messages, the marker's text): keep
    // the distance to the bottom, and what was on screen stays where it was.
    const fromBottom = log.scrollHeight - log.scrollTop;
    if (session) {
      marker.after(renderTranscript(session.messages || [], session._messages_offset));
      state.offset = session._messages_offset;
    }
    showState(marker, note, button, state.offset > 0 ? "more" : "none");
    log.scrollTop = log.scrollHeight - fromBottom;
    if (state.offset > 0 && log.scrollTop < NEAR_TOP_PX) loadOlder();
  };

  button.addEventListener("click", loadOlder);
  log.addEventListener("scroll", () => {
    if (log.scrollTop < NEAR_TOP_PX) loadOlder();
  }, { passive: true });

  return {
    /** A freshly rendered log whose first message has transcript index `offset`. */
    reset(sessionId, offset) {
      state.generation += 1;
      Object.assign(state, { sessionId, offset, loading: false });
      showState(marker, note, button, offset > 0 ? "more" : "none");
      if (offset <= 0) return;
      log.prepend(marker);
      // A page too short to scroll never fires a scroll event: check once it is laid out.
      requestAnimationFrame(() => {
        if (log.scrollTop < NEAR_TOP_PX) loadOlder();
      });
    },
    offset: () => state.offset,
  };
}

function showState(marker, note, button, kind) {
  marker.hidden = kind === "none";
  note.textContent = kind === "loading" ? "Loading earlier messages…" : "";
  button.hidden = kind !== "more";
  if (kind === "none") marker.remove();
}
