// The sidebar: the conversation list with its search, its filters (a project, archived
// conversations) and import, and its keys: Ctrl/Cmd+K searches from anywhere, Esc clears
// the search, the arrow keys move between conversations.
import { initImport } from "./import.js";
import { activeProjectId, initProjects, loadProjects } from "./projects.js";
import { SessionList } from "./session-list.js";
import { initSessionMenu, toggleMenu } from "./session-menu.js";
import { currentSessionId } from "./state.js";

const SEARCH_DELAY_MS = 250;
let list;
let search;
let showArchived;
let actions = {};
let searchTimer = null;
let projectsLoaded = Promise.resolve();

/** `options`: open(id), renamed(id), deleted(id), and reveal() to show a hidden sidebar. */
export function initSidebar(options) {
  actions = options;
  search = document.getElementById("session-search");
  showArchived = document.getElementById("show-archived");
  const container = document.getElementById("session-list");
  list = new SessionList(container, {
    params: filterParams,
    query: () => search.value.trim(),
    keeps,
    emptyText,
    onOpen: (id) => actions.open(id),
    onMenu: toggleMenu,
    onRendered: markCurrent,
  });
  initSessionMenu(list, { renamed: (id) => actions.renamed?.(id), deleted: (id) => actions.deleted?.(id) });
  initProjects({ filterChanged: () => list.reload(), projectsChanged: () => list.rerender() });
  initImport({
    imported: async (session) => {
      await list.refresh();
      actions.open(session.session_id);
    },
  });
  projectsLoaded = loadProjects();
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => list.reload(), SEARCH_DELAY_MS);
  });
  search.addEventListener("keydown", onSearchKey);
  showArchived.addEventListener("change", () => list.reload());
  container.addEventListener("keydown", onListKey);
  document.addEventListener("keydown", onShortcut);
}

/** Bring the list up to date, keeping its scroll position and the pages already loaded. */
export async function refreshSessions() {
  await projectsLoaded; // rows show their project's colour
  await list.refresh();
}

export function markCurrent() {
  const id = currentSessionId();
  for (const row of document.querySelectorAll("#session-list .session")) {
    const current = row.dataset.id === id;
    row.classList.toggle("is-current", current);
    row.querySelector(".session-open").toggleAttribute("aria-current", current);
  }
}

function filterParams() {
  return { archived: showArchived.checked ? "1" : "0", project_id: activeProjectId() || undefined };
}

function keeps(row) {
  const project = activeProjectId();
  return (showArchived.checked || !row.archived) && (!project || row.project_id === project);
}

function emptyText() {
  return activeProjectId() ? "No conversations in this project." : "No conversations yet.";
}

function onShortcut(event) {
  const isK = event.key === "k" || event.key === "K";
  if (!isK || !(event.ctrlKey || event.metaKey) || event.altKey || event.shiftKey) return;
  event.preventDefault();
  actions.reveal?.();
  search.focus();
  search.select();
}

function onSearchKey(event) {
  if (event.key === "Escape" && search.value) {
    event.preventDefault();
    search.value = "";
    clearTimeout(searchTimer);
    list.reload();
  } else if (event.key === "ArrowDown") {
    const first = document.querySelector("#session-list .session-open");
    if (first) {
      event.preventDefault();
      first.focus();
    }
  }
}

function onListKey(event) {
  if (!event.target.matches?.(".session-open")) return;
  const rows = [...document.querySelectorAll("#session-list .session-open")];
  const at = rows.indexOf(event.target);
  const next = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: rows.length - 1 }[event.key];
  if (next === undefined) return;
  event.preventDefault();
  if (next < 0) search.focus();
  else rows[Math.min(next, rows.length - 1)].focus();
}
