// Starts the UI: auth, theme, sidebar, chat, composer, settings, and the narrow-screen drawer.
import { initAuth, post } from "./api.js";
import { editLast, initChat, newChat, openSession, send, stopIfRunning } from "./chat.js";
import { initComposer } from "./composer.js";
import { saveDraft } from "./drafts.js";
import { initSettings } from "./settings.js";
import { initSidebar, markCurrent, refreshSessions } from "./sidebar.js";
import { currentSessionId, onSessionChange } from "./state.js";
import { applyTheme } from "./theme.js";

applyTheme();

function initDrawer() {
  const body = document.body;
  const toggle = document.getElementById("sidebar-toggle");
  const setOpen = (open) => {
    body.classList.toggle("sidebar-open", open);
    toggle.setAttribute("aria-expanded", String(open));
  };
  toggle.addEventListener("click", () => setOpen(!body.classList.contains("sidebar-open")));
  document.getElementById("scrim").addEventListener("click", () => setOpen(false));
  return setOpen;
}

/** The address names the open conversation: a reload reopens it and the link can be shared. */
function showInAddress(id) {
  const { pathname, search } = window.location;
  window.history.replaceState(null, "", id ? `#session=${id}` : pathname + search);
}

/**
 * Wires every control first, so a click made while the page loads is never lost. A message sent
 * meanwhile waits for `shown`: it belongs to the conversation the page is about to show.
 */
function initControls(shown) {
  const setDrawer = initDrawer();
  const closeDrawer = () => setDrawer(false);
  const onSend = async (text) => {
    await shown;
    return send(text);
  };
  const composer = initComposer({ onSend, onStop: stopIfRunning, onEditLast: editLast });
  initChat({ sessionsChanged: refreshSessions, opened: composer.showDraft });
  initSidebar({
    open: (id) => { closeDrawer(); openSession(id); },
    renamed: (id) => { if (id === currentSessionId()) openSession(id); },
    deleted: (id) => {
      saveDraft(id, "");
      if (id === currentSessionId()) newChat();
    },
    reveal: () => setDrawer(true),
  });
  initSettings();
  onSessionChange(markCurrent);
  onSessionChange(showInAddress);
  document.getElementById("new-chat").addEventListener("click", () => {
    closeDrawer();
    newChat();
    composer.focus();
  });
  document.getElementById("logout-button").addEventListener("click", async () => {
    await post("/api/auth/logout").catch(() => {});
    window.location.assign("/login");
  });
  return composer;
}

async function main() {
  const chat = document.getElementById("chat");
  let markShown;
  const composer = initControls(new Promise((resolve) => { markShown = resolve; }));
  let chosen = false; // a conversation opened or started while the page loaded
  onSessionChange(() => { chosen = true; });
  const status = await initAuth().catch(() => ({}));
  if (status.auth_required && !status.authenticated) return;
  // Shown while a password is set; the settings dialog can set or remove one at any time.
  document.getElementById("logout-button").hidden = !status.auth_required;
  try {
    await refreshSessions();
    const linked = window.location.hash.match(/^#session=([0-9a-z_]{1,64})$/);
    const remembered = linked ? linked[1] : currentSessionId();
    if (chosen) return;
    if (remembered) await openSession(remembered);
    else newChat();
  } finally {
    chat.removeAttribute("aria-busy");
    markShown();
  }
  // Someone who already moved focus while the page loaded keeps it.
  if (document.activeElement === document.body) composer.focus();
}

main();
