// The Password section of the settings dialog: set, change or remove the web UI password.
// The server keeps only a hash; setting one logs this browser in with a fresh cookie, and
// every other browser must log in again.
import { get, initAuth, post } from "./api.js";
import { showResult } from "./dom.js";

const MIN_LENGTH = 8;
const STATES = {
  environment:
    "The password is managed by the server's environment (HERMES_WEBUI_PASSWORD); change it there and restart the server.",
  settings: "A password protects this server: other browsers must log in.",
  none: "No password: anyone who can reach this server can use it. Set one to require a login.",
};

let form;
let source = null;

export function initPasswordSection() {
  form = document.getElementById("password-form");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    change(form.elements.new.value, form.elements.confirm.value);
  });
  document.getElementById("password-remove").addEventListener("click", () => change(null));
}

/** Ask the server where the password comes from and show the matching controls. */
export async function refreshPasswordSection() {
  form.reset();
  result("");
  try {
    render(await get("/api/auth/status", undefined, { quiet: true }));
  } catch (err) {
    result(`Could not read the password state: ${err.message}`, "error");
  }
}

function render(status) {
  source = status.password_source || null;
  document.getElementById("password-state").textContent = STATES[source || "none"];
  document.getElementById("password-fields").hidden = source === "environment";
  for (const node of form.querySelectorAll(".needs-password")) node.hidden = source !== "settings";
  document.getElementById("password-save").textContent = source === "settings" ? "Change password" : "Set password";
  const logout = document.getElementById("logout-button");
  if (logout) logout.hidden = !status.auth_required;
}

/** `next` null removes the password; otherwise it must be confirmed and long enough. */
async function change(next, confirmation) {
  const current = form.elements.current.value;
  if (source === "settings" && !current) {
    result("Enter the current password first.", "error");
    form.elements.current.focus();
    return;
  }
  if (next !== null && next.length < MIN_LENGTH) {
    result(`The new password must be at least ${MIN_LENGTH} characters.`, "error");
    form.elements.new.focus();
    return;
  }
  if (next !== null && next !== confirmation) {
    result("The two new passwords do not match.", "error");
    form.elements.confirm.focus();
    return;
  }
  const body = { new: next };
  if (source === "settings") body.current = current;
  try {
    await post("/api/auth/password", body, { quiet: true });
  } catch (err) {
    result(err.message, "error");
    return;
  }
  // The reply set a fresh cookie; fetch its CSRF token so this page's writes keep working.
  const status = await initAuth();
  form.reset();
  render(status);
  result(next === null ? "Password removed: the server is open again." : "Password saved. Other browsers must now log in.", "ok");
}

function result(text, kind = "") {
  showResult(document.getElementById("password-result"), text, kind);
}
