// The per-session menu: rename, pin, archive, move to a project, export, delete. Esc closes
// it and gives the focus back to its button; arrow keys move between its items. It stays in
// its row (for the focus order) but is fixed to the window, so the list's scroll box never
// clips it: below its button, or above it when the window has no room below.
import { post, withQuery } from "./api.js";
import { el, notify } from "./dom.js";
import { moveDialog } from "./project-dialogs.js";
import { allProjects } from "./projects.js";
import { confirmDialog, textDialog } from "./prompt-dialog.js";

const TITLE_MAX = 80;
const GAP_PX = 4; // between the button and the menu
const MARGIN_PX = 8; // between the menu and the window's edges
let openMenu = null;
let list;
let hooks = {};

/** `sessionList` is the SessionList; `options.renamed(id)` and `options.deleted(id)` notify the app. */
export function initSessionMenu(sessionList, options) {
  list = sessionList;
  hooks = options;
  document.addEventListener("click", (event) => {
    if (openMenu && !openMenu.contains(event.target)) closeMenu();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && openMenu) {
      event.preventDefault();
      closeMenu(true);
    }
  });
  const follow = () => { if (openMenu) place(openMenu); };
  document.addEventListener("scroll", follow, { capture: true, passive: true });
  window.addEventListener("resize", follow);
}

export function toggleMenu(button, item, id) {
  if (openMenu?.owner === button) closeMenu();
  else showMenu(button, item, id);
}

function showMenu(button, item, id) {
  closeMenu();
  const session = list.get(id);
  if (!session) return;
  const entry = (label, handler, cls) => el("button", {
    type: "button", role: "menuitem", class: cls, text: label,
    onclick: async () => { closeMenu(); await handler(session); },
  });
  const exportLink = (format, label) => el("a", {
    role: "menuitem", href: withQuery("/api/session/export", { session_id: id, format }), download: "", text: label,
    onclick: () => setTimeout(closeMenu, 0), // after the click has started the download
  });
  const menu = el("div", { class: "menu", role: "menu", "aria-label": `Actions for ${session.title || "Untitled"}` },
    entry("Rename…", rename),
    entry(session.pinned ? "Unpin" : "Pin", (s) => change("/api/session/pin", { session_id: s.session_id, pinned: !s.pinned })),
    entry(session.archived ? "Unarchive" : "Archive", archive),
    entry("Move to project…", move),
    exportLink("json", "Export JSON"),
    exportLink("md", "Export Markdown"),
    entry("Delete…", remove, "danger"));
  menu.owner = button;
  menu.addEventListener("keydown", (event) => moveFocus(menu, event));
  item.append(menu);
  place(menu);
  button.setAttribute("aria-expanded", "true");
  openMenu = menu;
  menu.querySelector("[role=menuitem]").focus();
}

/** Next to its button, inside the window: below it if it fits there, else above it. */
function place(menu) {
  const anchor = menu.owner.getBoundingClientRect();
  const width = document.documentElement.clientWidth;
  const height = document.documentElement.clientHeight;
  menu.style.maxHeight = `${height - 2 * MARGIN_PX}px`;
  const box = menu.getBoundingClientRect();
  const below = anchor.bottom + GAP_PX;
  const top = below + box.height <= height - MARGIN_PX ? below : anchor.top - GAP_PX - box.height;
  const left = Math.min(anchor.right - box.width, width - MARGIN_PX - box.width);
  menu.style.top = `${Math.max(MARGIN_PX, top)}px`;
  menu.style.left = `${Math.max(MARGIN_PX, left)}px`;
}

function moveFocus(menu, event) {
  const items = [...menu.querySelectorAll("[role=menuitem]")];
  const at = items.indexOf(document.activeElement);
  const next = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: items.length - 1 }[event.key];
  if (next === undefined) return;
  event.preventDefault();
  items[(next + items.length) % items.length].focus();
}

function closeMenu(refocus = false) {
  if (!openMenu) return;
  const button = openMenu.owner;
  openMenu.remove();
  openMenu = null;
  button.setAttribute("aria-expanded", "false");
  if (refocus) button.focus();
}

/** After a dialog: the row's menu button if the row is still listed, else the search box. */
function focusAfter(id) {
  return () => document.querySelector(`.session[data-id="${id}"] .session-menu-button`)
    || document.getElementById("session-search");
}

async function change(path, body) {
  let reply;
  try {
    reply = await post(path, body);
  } catch {
    return null; // Shown by the notice.
  }
  keepFocus(() => list.update(reply.session));
  return reply.session;
}

/** A changed row is rebuilt: if the focus was in it, put it on the new row's menu button. */
function keepFocus(redraw) {
  const id = document.activeElement?.closest?.(".session")?.dataset.id;
  redraw();
  if (id && document.activeElement === document.body) focusAfter(id)().focus();
}

async function rename(session) {
  const title = await textDialog({
    title: "Rename conversation", label: "Title", value: session.title || "",
    submitLabel: "Rename", maxLength: TITLE_MAX, returnFocus: focusAfter(session.session_id),
  });
  if (title === null || title === session.title) return;
  if (await change("/api/session/rename", { session_id: session.session_id, title })) {
    hooks.renamed?.(session.session_id);
  }
}

async function archive(session) {
  const done = await change("/api/session/archive", { session_id: session.session_id, archived: !session.archived });
  if (done) notify(done.archived ? "Conversation archived" : "Conversation unarchived");
}

async function move(session) {
  const answer = await moveDialog(session, allProjects(), { returnFocus: focusAfter(session.session_id) });
  if (!answer || answer.projectId === (session.project_id || null)) return;
  const done = await change("/api/session/move", { session_id: session.session_id, project_id: answer.projectId });
  if (done) notify(answer.projectId ? "Moved to the project" : "Taken out of its project");
}

async function remove(session) {
  const title = session.title || "Untitled";
  const sure = await confirmDialog({
    title: "Delete conversation",
    message: `Delete "${title}"? This cannot be undone.`,
    confirmLabel: "Delete",
    returnFocus: focusAfter(session.session_id),
  });
  if (!sure) return;
  try {
    await post("/api/session/delete", { session_id: session.session_id });
  } catch {
    return; // Shown by the notice.
  }
  keepFocus(() => list.remove(session.session_id));
  notify("Conversation deleted");
  hooks.deleted?.(session.session_id);
}
