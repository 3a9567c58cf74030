// The current session id, remembered across reloads, with change listeners.

const KEY = "hermes.currentSession";
const listeners = new Set();

export function currentSessionId() {
  try {
    return localStorage.getItem(KEY) || null;
  } catch {
    return null;
  }
}

export function setCurrentSessionId(id) {
  try {
    if (id) localStorage.setItem(KEY, id);
    else localStorage.removeItem(KEY);
  } catch {
    // Private mode: the choice just is not remembered.
  }
  for (const listener of listeners) listener(id);
}

export function onSessionChange(listener) {
  listeners.add(listener);
}
