// One file to `POST /api/upload`, with its progress. XMLHttpRequest, because fetch cannot
// report how much of a body has been sent; otherwise sent as every write is (api.js): same-origin
// cookies, the CSRF token while a password is set, a stale token fetched again and the file sent
// once more, and a refused session sent to the login page.
import { ApiError, csrfHeaders, goToLogin, initAuth } from "./api.js";

const LOST = "The upload failed: the connection to the server was lost";

/**
 * Starts uploading `file`; `onProgress(fraction)` hears how much has gone. Returns
 * `{ done, abort }`: `done` resolves to the server's description of the stored file
 * (`{id, filename, size, mime, is_image, width?, height?}`) or rejects with an `ApiError`
 * carrying the server's reason (status 0 when the connection failed or `abort` was called).
 */
export function uploadFile(file, onProgress = () => {}) {
  let xhr = null;
  let aborted = false;
  const attempt = () => new Promise((resolve, reject) => {
    xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/upload");
    xhr.withCredentials = true;
    xhr.setRequestHeader("Accept", "application/json");
    for (const [name, value] of Object.entries(csrfHeaders())) xhr.setRequestHeader(name, value);
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable && event.total) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      const data = parsed(xhr.responseText);
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(new ApiError(xhr.status, data.error || `${xhr.status} ${xhr.statusText}`, data));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, LOST, null)));
    xhr.addEventListener("abort", () => reject(new ApiError(0, "Upload cancelled", null)));
    const form = new FormData();
    form.append("file", file, file.name || "file");
    xhr.send(form);
  });
  const done = attempt().catch(async (err) => {
    if (err.status === 401) goToLogin();
    if (aborted || err.status !== 403 || err.body?.code !== "csrf") throw err;
    await initAuth(); // the password changed in another tab: this browser has a new token
    return attempt();
  });
  return {
    done,
    abort: () => {
      aborted = true;
      xhr?.abort();
    },
  };
}

function parsed(text) {
  try {
    return JSON.parse(text) || {};
  } catch {
    return {};
  }
}
