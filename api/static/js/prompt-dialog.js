// Modal questions built on <dialog>: confirm, ask for a line of text, or run a small form.
// Each resolves a promise: Esc and Cancel resolve it as null. The dialog is labelled by its
// heading, traps focus while open (showModal), and hands focus back when it closes.
import { el } from "./dom.js";

let counter = 0;

/**
 * Show a form in a modal dialog. `read(form)` turns the submitted form into the result, or
 * returns undefined to keep the dialog open (after reporting what is wrong). `extra` buttons
 * ({label, value, class}) close the dialog with their value.
 */
export function formDialog({ title, fields, submitLabel, danger = false, extra = [], read, returnFocus, focusCancel = false }) {
  const headingId = `dialog-title-${++counter}`;
  const previous = document.activeElement;
  const cancel = el("button", { type: "button", text: "Cancel" });
  const submit = el("button", { type: "submit", class: danger ? "primary danger" : "primary", text: submitLabel });
  const extras = extra.map((item) => el("button", { type: "button", class: item.class, text: item.label }));
  const form = el("form", { method: "dialog", novalidate: true },
    el("h2", { id: headingId, text: title }),
    ...fields,
    el("div", { class: "dialog-row end" }, ...extras, cancel, submit));
  const dialog = el("dialog", { class: "prompt-dialog", "aria-labelledby": headingId }, form);
  document.body.append(dialog);
  return new Promise((resolve) => {
    let result = null;
    const finish = (value) => { result = value; dialog.close(); };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const value = read ? read(form) : true;
      if (value !== undefined) finish(value);
    });
    cancel.addEventListener("click", () => finish(null));
    extras.forEach((button, i) => button.addEventListener("click", () => finish(extra[i].value)));
    dialog.addEventListener("close", () => {
      dialog.remove();
      const target = returnFocus?.() ?? (previous?.isConnected ? previous : null);
      target?.focus();
      resolve(result);
    });
    dialog.showModal();
    if (focusCancel) cancel.focus();
  });
}

/** Ask yes or no; for destructive actions the Cancel button has the focus first. */
export async function confirmDialog({ title, message, confirmLabel, danger = true, returnFocus }) {
  const answer = await formDialog({
    title, submitLabel: confirmLabel, danger, returnFocus, focusCancel: danger,
    fields: [el("p", { text: message })],
  });
  return answer === true;
}

/** Ask for one non-empty line of text; resolves with it trimmed, or null. */
export function textDialog({ title, label, value = "", submitLabel, maxLength, returnFocus }) {
  const id = `dialog-field-${++counter}`;
  const input = el("input", { id, name: "value", type: "text", value, required: true, autocomplete: "off", maxlength: maxLength });
  return formDialog({
    title, submitLabel, returnFocus,
    fields: [el("label", { for: id, text: label }), input],
    read: () => requireText(input, `${label} cannot be empty.`),
  });
}

/** The trimmed value of `input`, or undefined after telling the user it is missing. */
export function requireText(input, message) {
  const text = input.value.trim();
  input.setCustomValidity(text ? "" : message);
  if (!text) {
    input.reportValidity();
    input.addEventListener("input", () => input.setCustomValidity(""), { once: true });
    return undefined;
  }
  return text;
}
