// Starts the UI: auth, theme, sidebar, chat, composer, settings, and the narrow-screen drawer.
import { initAuth, post } from "./api.js";
import { initChat, newChat, openSession, send, stopIfRunning } from "./chat.js";
import { initComposer } from "./composer.js";
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

async function main() {
  const status = await initAuth().catch(() => ({}));
  if (status.auth_required && !status.authenticated) return;
  const setDrawer = initDrawer();
  const closeDrawer = () => setDrawer(false);
  const composer = initComposer({ onSend: send, onStop: stopIfRunning });
  initChat({ sessionsChanged: refreshSessions });
  initSidebar({
    open: (id) => { closeDrawer(); openSession(id); },
    renamed: (id) => { if (id === currentSessionId()) openSession(id); },
    deleted: (id) => { if (id === currentSessionId()) newChat(); },
    reveal: () => setDrawer(true),
  });
  initSettings();
  onSessionChange(markCurrent);
  document.getElementById("new-chat").addEventListener("click", () => {
    closeDrawer();
    newChat();
    composer.focus();
  });
  // Shown while a password is set; the settings dialog can set or remove one at any time.
  const logout = document.getElementById("logout-button");
  logout.hidden = !status.auth_required;
  logout.addEventListener("click", async () => {
    await post("/api/auth/logout").catch(() => {});
    window.location.assign("/login");
  });
  await refreshSessions();
  const linked = window.location.hash.match(/^#session=([0-9a-z_]{1,64})$/);
  const remembered = linked ? linked[1] : currentSessionId();
  if (remembered) await openSession(remembered);
  else newChat();
  // Someone who already moved focus while the page loaded keeps it.
  if (document.activeElement === document.body) composer.focus();
}

main();
