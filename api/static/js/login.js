// The login form: POST /api/auth/login, then on to the app. A browser with nothing to log in
// to (no password, or a valid session) goes straight to the app.
import { applyTheme } from "./theme.js";

applyTheme();

const form = document.getElementById("login-form");
const error = document.getElementById("login-error");

async function needsLogin() {
  try {
    const reply = await fetch("/api/auth/status", { credentials: "same-origin", headers: { Accept: "application/json" } });
    const status = await reply.json();
    return status.auth_required && !status.authenticated;
  } catch {
    return true;
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.textContent = "";
  const button = form.querySelector("button");
  button.disabled = true;
  try {
    const reply = await fetch("/api/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({ password: form.elements.password.value }),
    });
    const data = await reply.json().catch(() => ({}));
    if (reply.ok) {
      window.location.assign("/");
      return;
    }
    error.textContent = data.error || `Login failed (${reply.status})`;
    form.elements.password.select();
  } catch {
    error.textContent = "Cannot reach the server";
  } finally {
    button.disabled = false;
  }
});

needsLogin().then((needed) => {
  if (!needed) window.location.replace("/");
});
