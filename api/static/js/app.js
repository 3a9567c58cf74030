// Starts the UI: auth, theme, sidebar, chat, composer, settings, and the narrow-screen drawer.
import { keepAddressOnSkipLinks, onAddressChange, sessionInAddress, showInAddress } from "./address.js";
import { initAuth, post } from "./api.js";
import { editLast, initChat, newChat, openSession, send, stopIfRunning } from "./chat.js";
import { initComposer } from "./composer.js";
import { initCronNotices } from "./cron-notices.js";
import { saveDraft } from "./drafts.js";
import { activeProjectId } from "./projects.js";
import { initScheduledPage } from "./scheduled-page.js";
import { initSettings } from "./settings.js";
import { initSidebar, markCurrent, refreshSessions } from "./sidebar.js";
import { currentSessionId, onSessionChange, sessionWithoutAddress } from "./state.js";
import { showStoreHealth } from "./store-health.js";
import { applyTheme } from "./theme.js";
import { initWorkspacePanel } from "./workspace-panel.js";

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

/**
 * Wires every control first, so a click made while the page loads is never lost. A message sent
 * meanwhile waits for `shown`: it belongs to the conversation the page is about to show.
 */
function initControls(shown) {
  const setDrawer = initDrawer();
  const closeDrawer = () => setDrawer(false);
  const onSend = async (text, files) => {
    await shown;
    return send(text, files);
  };
  const composer = initComposer({ onSend, onStop: stopIfRunning, onEditLast: editLast });
  // A chat started while the list shows one project belongs to that project.
  initChat({
    sessionsChanged: refreshSessions,
    opened: composer.showDraft,
    putBack: composer.putBack,
    projectId: activeProjectId,
  });
  initSidebar({
    open: (id) => { closeDrawer(); openSession(id); },
    renamed: (id) => { if (id === currentSessionId()) openSession(id); },
    deleted: (id) => {
      if (id === currentSessionId()) newChat({ replace: true }); // its history entry is gone too
      saveDraft(id, ""); // after leaving it: leaving keeps a message still queued there as its draft
    },
    reveal: () => setDrawer(true),
  });
  initSettings();
  initScheduledPage({ open: (id) => { closeDrawer(); openSession(id); } });
  initWorkspacePanel();
  onSessionChange(markCurrent);
  onSessionChange(showInAddress);
  onAddressChange((id) => {
    if (id === currentSessionId()) return;
    if (id) openSession(id);
    else newChat();
  });
  keepAddressOnSkipLinks();
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
  showStoreHealth();
  initCronNotices({ open: (id) => openSession(id), changed: refreshSessions });
  try {
    await refreshSessions();
    // The address wins; without one, what this tab showed before a reload, or the last opened.
    const first = sessionInAddress() || sessionWithoutAddress();
    if (chosen) return;
    if (first) await openSession(first, { replace: true });
    else newChat({ replace: true });
  } finally {
    chat.removeAttribute("aria-busy");
    markShown();
  }
  // Someone who already moved focus while the page loaded keeps it.
  if (document.activeElement === document.body) composer.focus();
}

main();
