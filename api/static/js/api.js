// The one way the UI talks to the server: JSON in and out, errors surfaced, auth handled.
import { notify } from "./dom.js";

let csrfToken = null;

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/** Ask the server whether a password is required; remember the CSRF token if so. */
export async function initAuth() {
  const status = await request("GET", "/api/auth/status", undefined, { quiet: true });
  csrfToken = status.csrf_token || null;
  if (status.auth_required && !status.authenticated) goToLogin();
  return status;
}

/** The header a write needs while a password is set (none without one), for requests made
 * outside `request`, such as an upload that reports its progress. */
export function csrfHeaders() {
  return csrfToken ? { "X-Hermes-CSRF": csrfToken } : {};
}

let leavingForLogin = false;

/** Once only: every request refused during load lands here, and a second navigation to the
 * same page would abort the first. */
export function goToLogin() {
  if (leavingForLogin) return;
  leavingForLogin = true;
  window.location.assign("/login");
}


/**
 * One API call. A write refused for a stale CSRF token (the password changed in another tab,
 * which gave this browser a new cookie) fetches the current token and is sent once more.
 */
export async function request(method, path, body, options = {}) {
  try {
    return await send(method, path, body, options);
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 403 || err.body?.code !== "csrf") throw err;
    await initAuth();
    return send(method, path, body, { ...options, retried: true });
  }
}

/** A Blob body (a file) goes as it is, with its type; anything else as JSON. */
async function send(method, path, body, { quiet = false, retried = false } = {}) {
  const headers = { Accept: "application/json" };
  const raw = body instanceof Blob;
  if (body !== undefined) headers["Content-Type"] = raw ? body.type || "application/octet-stream" : "application/json";
  if (method !== "GET" && csrfToken) headers["X-Hermes-CSRF"] = csrfToken;
  let reply;
  try {
    reply = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined || raw ? body : JSON.stringify(body),
    });
  } catch (err) {
    if (!quiet) notify("Cannot reach the server", "error");
    throw new ApiError(0, "Cannot reach the server", null);
  }
  const data = await reply.json().catch(() => ({}));
  if (reply.status === 401 && path !== "/api/auth/login") {
    goToLogin();
    throw new ApiError(401, "Authentication required", data);
  }
  if (!reply.ok) {
    const message = data.error || `${reply.status} ${reply.statusText}`;
    if (!quiet && (retried || data.code !== "csrf")) notify(message, "error");
    throw new ApiError(reply.status, message, data);
  }
  return data;
}

export const get = (path, params, options) => request("GET", withQuery(path, params), undefined, options);
export const post = (path, body = {}, options) => request("POST", path, body, options);

export function withQuery(path, params) {
  if (!params) return path;
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null) query.set(key, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}
