// The address names the conversation this tab shows (`/#session=<id>`; none for a new chat). It
// is what a reload reopens and a link another tab can open, and moving between conversations
// adds history entries, so Back and Forward return to them.

const PATTERN = /^#session=([0-9a-z][0-9a-z_]{0,63})$/;

/**
 * The id the address names, `null` when it names none (a new chat), or `undefined` when its
 * fragment is about something else (e.g. an anchor within the page), which says nothing.
 */
export function sessionInAddress() {
  const { hash } = window.location;
  if (!hash || hash === "#") return null;
  return hash.match(PATTERN)?.[1];
}

/**
 * Names `id` in the address. Opening another conversation adds a history entry; `replace`
 * rewrites the current one instead, for the same place under a new name (a new chat that got
 * its id, a fresh tab showing the last conversation, one that no longer exists).
 */
export function showInAddress(id, { replace = false } = {}) {
  if ((sessionInAddress() || null) === (id || null)) return;
  const { pathname, search } = window.location;
  const url = id ? `#session=${id}` : pathname + search;
  if (replace) window.history.replaceState(null, "", url);
  else window.history.pushState(null, "", url);
}

/** Calls `show(id)` when Back or Forward (or an edited address) names another conversation. */
export function onAddressChange(show) {
  window.addEventListener("popstate", () => {
    const id = sessionInAddress();
    if (id !== undefined) show(id);
  });
}

/**
 * The skip link moves focus without following its `#message-input` anchor, which would take
 * the conversation's id out of the address (and a reload would then not reopen it).
 */
export function keepAddressOnSkipLinks() {
  for (const link of document.querySelectorAll("a.skip-link[href^='#']")) {
    link.addEventListener("click", (event) => {
      const target = document.getElementById(link.getAttribute("href").slice(1));
      if (!target) return;
      event.preventDefault();
      target.focus();
    });
  }
}
