// How attached files look. Above the message box, a chip per file: a thumbnail (or the file's
// type), name, size, a progress bar while it uploads, the server's reason when it failed, and ×.
// In a sent message, an image is a thumbnail that opens full size, any other file a chip that
// downloads it. Built from data only: names are text, never markup.
import { el } from "./dom.js";
import { openLightbox } from "./lightbox.js";

const SHOWN_PX = 160; // a sent image's thumbnail, at most, on its longer side

export function formatSize(bytes) {
  if (!Number.isFinite(bytes) || bytes < 1024) return `${bytes || 0} B`;
  const units = ["KB", "MB", "GB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

export const fileUrl = (id) => `/api/attachment/${encodeURIComponent(id)}`;
const thumbnailUrl = (id) => `${fileUrl(id)}/thumbnail`;

/** A few letters for a file without a picture: its extension ("PDF"), else "FILE". */
function typeBadge(name) {
  const dot = name.lastIndexOf(".");
  const ext = dot > 0 ? name.slice(dot + 1, dot + 5).toUpperCase() : "";
  return el("span", { class: "chip-badge", "aria-hidden": "true", text: ext || "FILE" });
}

/**
 * The tray's chip for `item` (`{name, size, state, progress, error, info, preview}`, state
 * "uploading", "ready" or "error"). Call `chip.update()` whenever the item changes.
 */
export function trayChip(item, onRemove) {
  const picture = el("img", { class: "chip-thumb", alt: "" });
  const badge = typeBadge(item.name);
  const size = el("span", { class: "chip-size" });
  const meta = el("span", { class: "chip-meta" }, size);
  const progress = el("progress", { max: 1, "aria-label": `Uploading ${item.name}` });
  let error = null;
  let broken = null; // a picture the browser cannot show (a local preview of a HEIC, say)
  const chip = el("li", { class: "attachment-chip" },
    picture,
    badge,
    el("span", { class: "chip-text" }, el("span", { class: "chip-name", text: item.name, title: item.name }), meta),
    progress,
    el("button", {
      type: "button",
      class: "chip-remove",
      text: "×",
      title: "Remove",
      "aria-label": `Remove ${item.name}`,
      onclick: () => onRemove(item),
    }));
  chip.update = () => {
    chip.className = `attachment-chip is-${item.state}`;
    const wanted = item.info?.is_image ? thumbnailUrl(item.info.id) : item.state === "uploading" ? item.preview : null;
    const src = wanted === broken ? null : wanted;
    if (src && picture.getAttribute("src") !== src) picture.src = src;
    picture.hidden = !src;
    badge.hidden = Boolean(src);
    size.textContent = formatSize(item.info?.size ?? item.size);
    progress.hidden = item.state !== "uploading";
    if (typeof item.progress === "number") progress.value = item.progress;
    if (item.state === "error" && !error) {
      const reason = String(item.error || "Upload failed");
      error = el("span", { class: "chip-error", role: "alert", text: reason[0].toUpperCase() + reason.slice(1) });
      meta.append(error); // added, not filled in: an alert announces when it appears
    }
  };
  picture.addEventListener("error", () => {
    broken = picture.getAttribute("src");
    chip.update();
  });
  chip.update();
  return chip;
}

/** The files a sent message carries, or null when it carries none. */
export function attachmentList(entries) {
  const shown = (entries || []).filter(Boolean).map(sentAttachment);
  return shown.length ? el("div", { class: "attachments" }, shown) : null;
}

function sentAttachment(entry) {
  if (typeof entry === "string" || !entry.id) {
    // Named by another client (the reference UI sends names); there is nothing to fetch.
    const name = typeof entry === "string" ? entry : String(entry.name || "attachment");
    return el("span", { class: "attachment-file" }, typeBadge(name), el("span", { class: "chip-name", text: name }));
  }
  const name = entry.filename || "attachment";
  if (entry.is_image) {
    const [width, height] = fitted(entry.width, entry.height);
    const button = el("button", { type: "button", class: "attachment-thumb", "aria-label": `Open ${name}`, title: name },
      el("img", { src: thumbnailUrl(entry.id), alt: "", width, height, decoding: "async" }));
    button.addEventListener("click", () => openLightbox(entry, button));
    return button;
  }
  return el("a", { class: "attachment-file", href: fileUrl(entry.id), download: name, title: `Download ${name}` },
    typeBadge(name),
    el("span", { class: "chip-name", text: name }),
    el("span", { class: "chip-size", text: formatSize(entry.size) }));
}

/** The thumbnail's shown size, its proportions kept, so the page does not jump as it loads. */
function fitted(width, height) {
  if (!(width > 0 && height > 0)) return [SHOWN_PX, SHOWN_PX];
  const scale = Math.min(1, SHOWN_PX / Math.max(width, height));
  return [Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale))];
}
