// An attached image at full size, over the page: a modal dialog, so Escape, a click beside the
// picture or Close shuts it, and focus goes back to the thumbnail that opened it.
import { el } from "./dom.js";

let dialog = null;
let picture = null;
let caption = null;
let download = null;
let opener = null;

/** Shows `/api/attachment/{id}` of `entry` (an attachment description); `from` gets focus back. */
export function openLightbox(entry, from) {
  build();
  opener = from || null;
  picture.src = `/api/attachment/${encodeURIComponent(entry.id)}`;
  download.href = picture.src;
  download.setAttribute("download", entry.filename || "image");
  picture.alt = entry.filename || "image";
  caption.textContent = entry.filename || "";
  dialog.setAttribute("aria-label", entry.filename || "Image");
  dialog.showModal();
}

function build() {
  if (dialog) return;
  picture = el("img", { class: "lightbox-image" });
  caption = el("span", { class: "lightbox-name" });
  download = el("a", { text: "Download" });
  const close = el("button", { type: "button", text: "Close", onclick: () => dialog.close() });
  dialog = el("dialog", { class: "lightbox" },
    el("figure", {}, picture, el("figcaption", {}, caption, download, close)));
  // A click on the backdrop lands on the dialog itself; the picture and caption are its children.
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close();
  });
  dialog.addEventListener("close", () => {
    picture.removeAttribute("src"); // a big image is not kept decoded behind a closed dialog
    opener?.focus();
    opener = null;
  });
  document.body.append(dialog);
}
