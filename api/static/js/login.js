// The login form: POST /api/auth/login, then on to the app.

const form = document.getElementById("login-form");
const error = document.getElementById("login-error");

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
  } catch {
    error.textContent = "Cannot reach the server";
  } finally {
    button.disabled = false;
  }
});
