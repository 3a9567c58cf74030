// Light, dark or follow the system; the choice is kept in localStorage.

const KEY = "hermes.theme";
export const THEMES = ["system", "light", "dark"];

export function savedTheme() {
  try {
    const value = localStorage.getItem(KEY);
    return THEMES.includes(value) ? value : "system";
  } catch {
    return "system";
  }
}

export function applyTheme(theme = savedTheme()) {
  const root = document.documentElement;
  if (theme === "system") delete root.dataset.theme;
  else root.dataset.theme = theme;
}

export function setTheme(theme) {
  try {
    localStorage.setItem(KEY, theme);
  } catch {
    // Not remembered, still applied.
  }
  applyTheme(theme);
}
