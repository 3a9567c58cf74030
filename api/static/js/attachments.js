// Files waiting to go with the next message: added with the paperclip, dropped on the chat or
// pasted into the message box, uploaded at once, shown as chips above the box.
//
// Each conversation has its own tray (a new chat has one too, as it has a draft): opening
// another conversation shows that one's, and a file is only ever sent with a message of the
// conversation it was added in. Trays live as long as the page; a reload empties them (the
// server removes a file uploaded but never sent after a day). Send waits while a file is still
// uploading; a file that failed shows the server's reason and is never sent.
import { trayChip } from "./attachment-chips.js";
import { el } from "./dom.js";
import { MODEL_SHOWN, chosenModelSeesImages } from "./model-picker.js";
import { currentSessionId, onSessionChange } from "./state.js";
import { uploadFile } from "./upload.js";

const MAX_FILES = 10; // the server's limit a message
const NEW_CHAT = ":new"; // never a session id
const BLIND_NOTE = "This model can't see images; it gets a note instead";

const trays = new Map(); // conversation → { items, refused }
const view = {};

export function initAttachments() {
  view.tray = document.getElementById("attachment-tray");
  view.list = el("ul", { class: "attachment-chips", "aria-label": "Files to send" });
  view.status = el("p", { class: "attachment-status", role: "status" });
  view.note = el("p", { class: "attachment-note", text: BLIND_NOTE });
  view.tray.append(view.list, view.status, view.note);
  view.send = document.getElementById("send-button");
  const input = document.getElementById("attach-input");
  document.getElementById("attach-button").addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    add([...input.files]);
    input.value = ""; // the same file can be chosen again
  });
  initDrop(document.getElementById("chat"), document.getElementById("drop-zone"));
  document.getElementById("message-input").addEventListener("paste", (event) => {
    const files = [...(event.clipboardData?.files || [])];
    if (!files.length) return;
    add(files);
    // Text copied with the file (a spreadsheet's cells, an image's address) still pastes.
    if (!event.clipboardData.types.includes("text/plain")) event.preventDefault();
  });
  const picker = document.getElementById("chat-model");
  picker.addEventListener("change", render);
  picker.addEventListener(MODEL_SHOWN, render);
  onSessionChange(render);
  render();
}

/** Whether a file of the shown conversation is still uploading (Send waits for it). */
export function uploading() {
  return trayOf(currentSessionId()).items.some((item) => item.state === "uploading");
}

/** Whether the shown conversation has files ready to send. */
export function hasFiles() {
  return trayOf(currentSessionId()).items.some((item) => item.state === "ready");
}

/** Empties the shown conversation's tray; returns the uploaded files' descriptions to send. */
export function takeFiles() {
  const tray = trayOf(currentSessionId());
  const files = tray.items.filter((item) => item.state === "ready").map((item) => item.info);
  for (const item of tray.items) forget(item);
  tray.items = [];
  tray.refused = 0;
  render();
  return files;
}

/** Puts files taken for a message that was not sent back in the tray of `sessionId`. */
export function restoreFiles(sessionId, files) {
  if (!files?.length) return;
  const tray = trayOf(sessionId);
  const room = Math.max(0, MAX_FILES - tray.items.length);
  for (const info of files.slice(0, room)) {
    tray.items.push({ name: info.filename, size: info.size, state: "ready", info });
  }
  tray.refused = files.length - Math.min(room, files.length);
  render();
}

/** The text of a message sent with files and nothing typed: the server needs some text. */
export function filesText(files) {
  return `Attached: ${files.map((file) => file.filename).join(", ")}`;
}

function keyOf(sessionId) {
  return sessionId || NEW_CHAT;
}

function trayOf(sessionId) {
  const key = keyOf(sessionId);
  if (!trays.has(key)) trays.set(key, { items: [], refused: 0 });
  return trays.get(key);
}

/** Adds `files` to the shown conversation's tray, up to MAX_FILES, and starts their uploads. */
function add(files) {
  const tray = trayOf(currentSessionId());
  const room = Math.max(0, MAX_FILES - tray.items.length);
  tray.refused = Math.max(0, files.length - room);
  for (const file of files.slice(0, room)) {
    const item = { file, name: file.name || "file", size: file.size, state: "uploading", progress: 0 };
    if (file.type.startsWith("image/")) item.preview = URL.createObjectURL(file);
    tray.items.push(item);
    upload(item);
  }
  render();
}

function upload(item) {
  const { done, abort } = uploadFile(item.file, (fraction) => {
    item.progress = fraction;
    item.chip?.update();
  });
  item.abort = abort;
  done.then(
    (info) => Object.assign(item, { state: "ready", info }),
    (err) => Object.assign(item, { state: "error", error: err.message }),
  ).finally(() => {
    item.abort = null;
    dropPreview(item);
    render(); // in whichever conversation it was added: it may not be the one shown now
  });
}

function remove(item) {
  const tray = trayOf(currentSessionId());
  tray.items = tray.items.filter((other) => other !== item);
  tray.refused = 0;
  forget(item);
  render();
}

/** An item leaves its tray: its upload stops (a finished one stays on the server a day). */
function forget(item) {
  item.abort?.();
  dropPreview(item);
}

function dropPreview(item) {
  if (item.preview) URL.revokeObjectURL(item.preview);
  item.preview = null;
}

function render() {
  if (!view.tray) return;
  const { items, refused } = trayOf(currentSessionId());
  view.list.replaceChildren(...items.map((item) => {
    item.chip ??= trayChip(item, remove);
    item.chip.update();
    return item.chip;
  }));
  const busy = items.filter((item) => item.state === "uploading").length;
  const notes = [];
  if (refused) notes.push(`At most ${MAX_FILES} files a message: ${refused} not added.`);
  if (busy) notes.push(`Uploading ${busy} file${busy > 1 ? "s" : ""}… Send waits until ${busy > 1 ? "they are" : "it is"} done.`);
  view.status.textContent = notes.join(" ");
  const images = items.some((item) => item.state !== "error" && (item.info ? item.info.is_image : item.file?.type.startsWith("image/")));
  view.note.hidden = !(images && chosenModelSeesImages() === false);
  view.tray.hidden = items.length === 0 && !refused;
  view.send.disabled = busy > 0;
}

/**
 * Files dragged over the chat light up a drop zone; dropped there, they are attached. A drop
 * that a part of the chat handled itself (its default prevented) is left to it.
 */
function initDrop(area, zone) {
  let depth = 0; // enter and leave fire for every child crossed
  const hasFiles = (event) => !event.defaultPrevented && [...(event.dataTransfer?.types || [])].includes("Files");
  const show = (shown) => { zone.hidden = !shown; };
  area.addEventListener("dragenter", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    depth += 1;
    show(true);
  });
  area.addEventListener("dragover", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  area.addEventListener("dragleave", (event) => {
    if (!hasFiles(event)) return;
    depth = Math.max(0, depth - 1);
    if (depth === 0) show(false);
  });
  area.addEventListener("drop", (event) => {
    depth = 0;
    show(false);
    if (!hasFiles(event)) return;
    event.preventDefault();
    add([...event.dataTransfer.files]);
  });
  // A file dropped beside the chat would replace the page with the file: it does nothing.
  for (const type of ["dragover", "drop"]) {
    window.addEventListener(type, (event) => {
      if (hasFiles(event)) event.preventDefault();
    });
  }
}
