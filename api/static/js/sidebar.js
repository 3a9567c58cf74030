// The session list: grouped by day with pinned sessions on top, search, and per-session actions.
import { get, post, withQuery } from "./api.js";
import { clear, el, notify } from "./dom.js";
import { currentSessionId } from "./state.js";

const DAY = 86400;
let list;
let search;
let actions = {};
let searchTimer = null;
let openMenu = null;

export function initSidebar(options) {
  actions = options;
  list = document.getElementById("session-list");
  search = document.getElementById("session-search");
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(refreshSessions, 250);
  });
  document.addEventListener("click", (event) => {
    if (openMenu && !openMenu.contains(event.target)) closeMenu();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && openMenu) closeMenu(true);
  });
}

export async function refreshSessions() {
  const query = search.value.trim();
  try {
    const data = query
      ? await get("/api/sessions/search", { q: query })
      : await get("/api/sessions", { limit: 200 });
    render(data.sessions || [], Boolean(query));
  } catch {
    // The notice explains.
  }
}

export function markCurrent() {
  const id = currentSessionId();
  for (const row of list.querySelectorAll(".session")) {
    const current = row.dataset.id === id;
    row.classList.toggle("is-current", current);
    row.querySelector(".session-open").toggleAttribute("aria-current", current);
  }
}

function render(sessions, searching) {
  clear(list);
  if (!sessions.length) {
    list.append(el("p", { class: "muted", text: searching ? "No matches." : "No conversations yet." }));
    return;
  }
  const groups = new Map();
  for (const s of sessions) {
    const name = searching ? "Results" : groupOf(s);
    if (!groups.has(name)) groups.set(name, []);
    groups.get(name).push(s);
  }
  for (const [name, rows] of groups) {
    const ul = el("ul", { class: "session-group-list" });
    for (const s of rows) ul.append(row(s));
    list.append(el("section", { class: "session-group", "aria-label": name }, el("h2", { text: name }), ul));
  }
  markCurrent();
}

function groupOf(session) {
  if (session.pinned) return "Pinned";
  const when = session.last_message_at || session.updated_at || session.created_at || 0;
  const midnight = new Date();
  midnight.setHours(0, 0, 0, 0);
  const today = midnight.getTime() / 1000;
  if (when >= today) return "Today";
  if (when >= today - DAY) return "Yesterday";
  if (when >= today - 7 * DAY) return "Previous 7 days";
  return "Older";
}

function row(session) {
  const title = session.title || "Untitled";
  const open = el("button", { type: "button", class: "session-open", title },
    el("span", { class: "session-title", text: title }),
    session.snippet ? el("span", { class: "session-snippet", text: session.snippet }) : null,
    session.is_streaming ? el("span", { class: "live-dot", "aria-label": "running", title: "Running" }) : null);
  open.addEventListener("click", () => actions.open(session.session_id));
  const menuButton = el("button", {
    type: "button", class: "icon session-menu-button", text: "⋯",
    "aria-label": `Actions for ${title}`, "aria-haspopup": "menu", "aria-expanded": "false",
  });
  const item = el("li", { class: "session", "data-id": session.session_id }, open, menuButton);
  menuButton.addEventListener("click", (event) => {
    event.stopPropagation();
    if (openMenu?.owner === menuButton) closeMenu();
    else showMenu(menuButton, item, session);
  });
  return item;
}

function showMenu(button, item, session) {
  closeMenu();
  const id = session.session_id;
  const exportLink = (format, label) => el("a", {
    role: "menuitem", href: withQuery("/api/session/export", { session_id: id, format }), download: "", text: label,
  });
  const entry = (label, handler, cls) => el("button", {
    type: "button", role: "menuitem", class: cls, text: label,
    onclick: async () => { closeMenu(); await handler(); },
  });
  const menu = el("div", { class: "menu", role: "menu" },
    entry("Rename", () => rename(session)),
    entry(session.pinned ? "Unpin" : "Pin", () => change("/api/session/pin", { session_id: id, pinned: !session.pinned })),
    entry(session.archived ? "Unarchive" : "Archive", () => change("/api/session/archive", { session_id: id, archived: !session.archived })),
    exportLink("json", "Export JSON"),
    exportLink("md", "Export Markdown"),
    entry("Delete…", () => remove(session), "danger"));
  menu.owner = button;
  item.append(menu);
  button.setAttribute("aria-expanded", "true");
  openMenu = menu;
  menu.querySelector("[role=menuitem]").focus();
}

function closeMenu(refocus = false) {
  if (!openMenu) return;
  const button = openMenu.owner;
  openMenu.remove();
  openMenu = null;
  button.setAttribute("aria-expanded", "false");
  if (refocus) button.focus();
}

async function rename(session) {
  const title = window.prompt("New title", session.title || "");
  if (title === null || !title.trim()) return;
  await change("/api/session/rename", { session_id: session.session_id, title });
  actions.renamed?.(session.session_id);
}

async function change(path, body) {
  try {
    await post(path, body);
    await refreshSessions();
  } catch {
    // Shown by the notice.
  }
}

async function remove(session) {
  if (!window.confirm(`Delete "${session.title || "Untitled"}"? This cannot be undone.`)) return;
  try {
    await post("/api/session/delete", { session_id: session.session_id });
    notify("Conversation deleted");
    actions.deleted?.(session.session_id);
    await refreshSessions();
  } catch {
    // Shown by the notice.
  }
}
