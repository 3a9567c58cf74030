// A page of the settings dialog that opens over it: a modal <dialog> labelled by its heading,
// built on first use, with a Close button. Esc or Close shuts it and puts focus back on the
// button that opened it, so keyboard users land where they were.
import { el } from "./dom.js";

/** Returns `{ dialog, body, open }`; `open(opener)` shows it, `onOpen` runs each time. */
export function pageDialog({ id, title, onOpen }) {
  const headingId = `${id}-title`;
  const body = el("div", { class: "page-body" });
  const close = el("button", { type: "button", text: "Close" });
  const dialog = el("dialog", { id, class: "page-dialog", "aria-labelledby": headingId },
    el("h2", { id: headingId, text: title }),
    body,
    el("div", { class: "dialog-row end" }, close));
  let opener = null;
  close.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    if (opener?.isConnected) opener.focus();
  });
  let attached = false;
  const open = (from) => {
    if (!attached) {
      document.body.append(dialog);
      attached = true;
    }
    opener = from || document.activeElement;
    dialog.showModal();
    onOpen?.();
  };
  return { dialog, body, open };
}

/** "1,474": digits grouped the same way in every browser locale, as the server writes them. */
export function grouped(count) {
  return count.toLocaleString("en-US");
}
