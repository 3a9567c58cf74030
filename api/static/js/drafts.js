// Unsent text in the message box, kept per conversation in this browser: a reload, a closed tab
// or a look at another conversation never loses what someone was typing.
const PREFIX = "hermes.draft.";
const NEW_CHAT = "new";
const MAX_CHARS = 100_000; // far below any browser's storage quota

const keyFor = (sessionId) => PREFIX + (sessionId || NEW_CHAT);

export function loadDraft(sessionId) {
  try {
    return localStorage.getItem(keyFor(sessionId)) || "";
  } catch {
    return "";
  }
}

/** Keeps `text` as the draft of the conversation; an empty text forgets it. */
export function saveDraft(sessionId, text) {
  if (text.length > MAX_CHARS) return; // the last draft that fitted stays
  try {
    if (text.trim()) localStorage.setItem(keyFor(sessionId), text);
    else localStorage.removeItem(keyFor(sessionId));
  } catch {
    // Storage full or switched off: the text is still in the box, just not kept.
  }
}
