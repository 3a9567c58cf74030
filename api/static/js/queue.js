// Messages sent while an answer runs wait here, with a note under the pane, and go out one by
// one as answers end. One that cannot go out that way (the run is stopped, another
// conversation is opened, the page is left) goes back to its conversation's draft, so it is in
// the message box again, and its files back in that conversation's tray: never sent unasked,
// never silently dropped.
import { restoreFiles } from "./attachments.js";
import { loadDraft, saveDraft } from "./drafts.js";

const waiting = []; // { text, files }
let note = null;

export function initQueue(element) {
  note = element;
  showNote();
}

/** Queues `text` and its `files`; `first` puts it ahead of the others (it was refused, not sent). */
export function enqueue(text, { first = false, files = [] } = {}) {
  const entry = { text, files };
  if (first) waiting.unshift(entry);
  else waiting.push(entry);
  showNote();
}

/** The next message to send (`{ text, files }`), taken off the queue; `undefined` when none waits. */
export function takeNext() {
  const next = waiting.shift();
  showNote();
  return next;
}

/**
 * Empties the queue; returns its messages as one text (blank lines between), or "". Their files
 * go back to the tray of `sessionId`, the conversation they were queued in.
 */
export function takeAll(sessionId) {
  const entries = waiting.splice(0);
  showNote();
  restoreFiles(sessionId, entries.flatMap((entry) => entry.files));
  return joined(entries.map((entry) => entry.text));
}

/** Empties the queue into the draft of `sessionId` (`null`: a new chat), ahead of that draft. */
export function returnToDraft(sessionId) {
  const text = takeAll(sessionId);
  if (text) saveDraft(sessionId, joined([text, loadDraft(sessionId)]));
}

function joined(parts) {
  return parts.filter((part) => part.trim()).join("\n\n");
}

function showNote() {
  const count = waiting.length;
  note.hidden = count === 0;
  note.textContent = count ? `${count} message${count > 1 ? "s" : ""} queued; sent when this answer ends` : "";
}
