// The message box: Enter sends, Shift+Enter adds a line, Esc stops the run, ↑ in an empty box
// edits the last message. What is typed is kept as the conversation's draft until it is sent.
// Attached files (attachments.js) go with the message; one with files and no text is sent with
// their names as its text.
import { filesText, hasFiles, initAttachments, takeFiles, uploading } from "./attachments.js";
import { loadDraft, saveDraft } from "./drafts.js";
import { currentSessionId } from "./state.js";

export function initComposer({ onSend, onStop, onEditLast }) {
  const form = document.getElementById("composer");
  const input = document.getElementById("message-input");
  initAttachments();
  const submit = () => {
    const text = input.value;
    if (uploading() || (!text.trim() && !hasFiles())) return; // Send waits for the uploads
    const files = takeFiles();
    input.value = "";
    saveDraft(currentSessionId(), "");
    resize(input);
    onSend(text.trim() ? text : filesText(files), files);
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    } else if (event.key === "Escape") {
      onStop();
    } else if (event.key === "ArrowUp" && !input.value && !hasModifier(event)) {
      if (onEditLast()) event.preventDefault();
    }
  });
  input.addEventListener("input", () => {
    resize(input);
    saveDraft(currentSessionId(), input.value);
  });
  return {
    focus: () => input.focus(),
    /** Shows the draft of the conversation just opened (`null`: a new chat). */
    showDraft: (sessionId) => {
      input.value = loadDraft(sessionId);
      resize(input);
    },
    /** Puts `text` back in the box, ahead of what is there (a queued message left unsent). */
    putBack: (text) => {
      input.value = [text, input.value].filter((part) => part.trim()).join("\n\n");
      resize(input);
      saveDraft(currentSessionId(), input.value);
    },
  };
}

function hasModifier(event) {
  return event.shiftKey || event.ctrlKey || event.metaKey || event.altKey;
}

function resize(input) {
  input.style.height = "auto";
  input.style.height = `${Math.min(input.scrollHeight, 240)}px`;
}
