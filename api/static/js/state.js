// The conversation this tab shows, with change listeners. Each tab keeps its own in memory, so
// two tabs never act on each other's conversation; the address names it too (address.js).
// sessionStorage (one per tab) holds it across a reload of a tab whose address names none, a
// new chat; localStorage remembers only the last choice made in any tab, for a fresh tab.

const LAST_KEY = "hermes.currentSession";
const TAB_KEY = "hermes.tabSession";
const NEW_CHAT = ":new"; // never a session id, which is [0-9a-z_]
const listeners = new Set();
let current = null;

export function currentSessionId() {
  return current;
}

/** Shows `id` (`null`: a new chat) in this tab; `how` goes to the listeners (e.g. replace). */
export function setCurrentSessionId(id, how = {}) {
  current = id || null;
  write(sessionStorage, TAB_KEY, current || NEW_CHAT);
  write(localStorage, LAST_KEY, current);
  for (const listener of listeners) listener(current, how);
}

export function onSessionChange(listener) {
  listeners.add(listener);
}

/**
 * What this tab should show when its address names nothing: what it showed before a reload
 * (an id, or `null` for a new chat), else the conversation last opened in any tab.
 */
export function sessionWithoutAddress() {
  const tab = read(sessionStorage, TAB_KEY);
  if (tab) return tab === NEW_CHAT ? null : tab;
  return read(localStorage, LAST_KEY);
}

function read(storage, key) {
  try {
    return storage.getItem(key) || null;
  } catch {
    return null;
  }
}

function write(storage, key, value) {
  try {
    if (value) storage.setItem(key, value);
    else storage.removeItem(key);
  } catch {
    // Private mode: the choice just is not remembered; the address still names it.
  }
}
