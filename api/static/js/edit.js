// Editing the last user message in place: an "Edit" button on its bubble opens an inline
// editor (Enter or "Save & send" sends, Shift+Enter adds a line, Esc or "Cancel" closes it).
import { el } from "./dom.js";

let editorCount = 0;

/**
 * Adds the Edit control to a user bubble. `onSave(text)` is awaited when the edited text is
 * sent; it returns false to keep the editor open (e.g. the server refused the edit).
 */
export function addEditControl(node, onSave) {
  const button = el("button", {
    type: "button",
    class: "edit-button link",
    text: "Edit",
    "aria-label": "Edit your last message",
    onclick: () => openEditor(node, onSave, button),
  });
  node.append(el("div", { class: "msg-tools" }, button));
  return button;
}

function openEditor(node, onSave, button) {
  const original = [...node.body.childNodes];
  const id = `edit-input-${++editorCount}`;
  const hintId = `${id}-hint`;
  const input = el("textarea", { id, class: "edit-input", rows: 3, "aria-describedby": hintId });
  input.value = node.sourceText ?? node.body.textContent;
  const save = el("button", { type: "submit", class: "primary", text: "Save & send" });
  const cancel = el("button", { type: "button", text: "Cancel" });
  const form = el("form", { class: "edit-form", "aria-label": "Edit message" },
    el("label", { class: "visually-hidden", for: id, text: "Edit your message" }),
    el("p", { id: hintId, class: "visually-hidden", text: "Enter sends, Shift+Enter adds a new line, Escape cancels." }),
    input,
    el("div", { class: "edit-buttons" }, save, cancel));

  const close = () => {
    node.body.replaceChildren(...original);
    node.classList.remove("is-editing");
    button.hidden = false;
    button.focus();
  };
  const submit = async () => {
    const text = input.value.trim();
    if (!text) return;
    save.disabled = true;
    cancel.disabled = true;
    const kept = await onSave(text);
    if (kept === false && form.isConnected) {
      save.disabled = false;
      cancel.disabled = false;
    }
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  cancel.addEventListener("click", close);
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      close();
    }
  });

  node.classList.add("is-editing");
  button.hidden = true;
  node.body.replaceChildren(form);
  input.focus();
  input.setSelectionRange(input.value.length, input.value.length);
}
