// The workspace panel: the open conversation's files beside the chat, behind the header's
// folder button. It remembers whether it is open (on wide screens; on a phone it is a drawer
// over the chat and starts closed), loads directories as they are opened, previews a file,
// uploads into the current directory, and marks the files the agent changed in the latest
// turn. While a run is followed, every tool that ends and the run's end refresh it, so a file
// the agent writes appears, marked, without a reload.
import { ApiError, csrfHeaders, get, goToLogin, initAuth } from "./api.js";
import { clear, el, notify } from "./dom.js";
import { confirmDialog } from "./prompt-dialog.js";
import { currentSessionId, onSessionChange } from "./state.js";
import { onStreamEvent } from "./stream.js";
import { WorkspacePreview } from "./workspace-preview.js";
import { WorkspaceTree, joinPath } from "./workspace-tree.js";

const OPEN_KEY = "hermes.workspacePanel";
const REFRESH_DELAY_MS = 150;
const REFRESHING_EVENTS = new Set(["tool_complete", "done", "cancel", "apperror"]);
const PHONE = window.matchMedia("(max-width: 760px)");

const view = {};
const state = { open: false, sessionId: undefined, shown: undefined, target: "", streamId: null, timer: null };

export function initWorkspacePanel() {
  view.toggle = document.getElementById("workspace-toggle");
  view.panel = document.getElementById("workspace-panel");
  if (!view.toggle || !view.panel) return;
  build();
  view.toggle.addEventListener("click", () => setOpen(!state.open, { focus: true }));
  view.panel.addEventListener("keydown", onKey);
  document.addEventListener("pointerdown", (event) => {
    if (state.open && PHONE.matches && !view.panel.contains(event.target) && !view.toggle.contains(event.target)
      && !event.target.closest?.("dialog")) setOpen(false);
  });
  onSessionChange((id) => {
    state.sessionId = id;
    if (state.open) show(id);
  });
  onStreamEvent(onRunEvent);
  state.sessionId = currentSessionId();
  if (!PHONE.matches && remembered()) setOpen(true);
}

function build() {
  view.close = el("button", { type: "button", id: "workspace-close", class: "icon", "aria-label": "Close the workspace panel", title: "Close", text: "×" });
  view.refresh = el("button", { type: "button", id: "workspace-refresh", class: "icon", "aria-label": "Refresh the files", title: "Refresh", text: "↻" });
  view.root = el("p", { class: "ws-root small muted" });
  view.summary = el("p", { id: "workspace-summary", class: "ws-summary small", role: "status" });
  view.targetLabel = el("code", { id: "workspace-target", text: "/" });
  view.upload = el("input", { id: "workspace-upload", type: "file", multiple: true, class: "visually-hidden" });
  const uploadLabel = el("label", { for: "workspace-upload", class: "file-button", text: "Upload…" });
  view.tools = el("div", { class: "ws-tools" },
    el("span", { class: "small" }, "Into ", view.targetLabel), view.upload, uploadLabel);
  view.tree = el("div", { id: "workspace-tree", class: "ws-tree" });
  view.previewBox = el("section", { id: "workspace-preview", class: "ws-preview", "aria-label": "Preview", hidden: true });
  view.panel.append(
    el("div", { class: "ws-head" }, el("h2", { id: "workspace-heading", text: "Workspace" }), view.refresh, view.close),
    view.root, view.summary, view.tools, view.tree, view.previewBox);
  view.panel.setAttribute("aria-labelledby", "workspace-heading");
  view.close.addEventListener("click", () => setOpen(false, { focus: true }));
  view.refresh.addEventListener("click", () => refresh());
  view.upload.addEventListener("change", () => {
    const files = [...view.upload.files];
    view.upload.value = "";
    uploadAll(files);
  });
  state.tree = new WorkspaceTree(view.tree, {
    openFile: (entry) => state.preview.show(state.shown, entry),
    chose: (dir) => choose(dir),
    failed: (err, path) => {
      if (path) notify(err.message, "error");
      else clear(view.tree).append(el("p", { class: "muted ws-empty", text: `The workspace cannot be shown: ${err.message}` }));
    },
  });
  state.preview = new WorkspacePreview(view.previewBox, { closed: focusEntry });
}

function setOpen(open, { focus = false } = {}) {
  state.open = open;
  view.panel.hidden = !open;
  document.body.classList.toggle("workspace-open", open);
  view.toggle.setAttribute("aria-expanded", String(open));
  if (!PHONE.matches) remember(open);
  if (open) {
    if (state.shown !== state.sessionId) show(state.sessionId);
    else refresh(); // files may have changed while it was closed
    if (focus) view.close.focus();
  } else if (focus || view.panel.contains(document.activeElement)) {
    view.toggle.focus();
  }
}

function onKey(event) {
  if (event.key !== "Escape" || event.defaultPrevented) return;
  event.preventDefault();
  if (!PHONE.matches && !view.previewBox.hidden) {
    const shown = state.preview.current;
    state.preview.hide();
    focusEntry(shown);
    return;
  }
  setOpen(false, { focus: true });
}

/** Focus back on the row of `path` (the file whose preview closed), or the first row. */
function focusEntry(path) {
  const rows = [...view.tree.querySelectorAll("li.ws-entry")];
  const row = rows.find((item) => item.dataset.path === path) || rows[0];
  row?.querySelector(":scope > .ws-row .ws-name")?.focus();
}

/** Shows conversation `id`'s workspace (a new chat has none until its first message). */
async function show(id) {
  state.shown = id;
  state.preview.hide();
  choose("");
  view.summary.textContent = "";
  view.root.textContent = "";
  view.tools.hidden = !id;
  if (!id) {
    await state.tree.show(null);
    if (state.shown !== id) return;
    view.tree.append(el("p", { class: "muted ws-empty", text: "The conversation's files show here once it has started." }));
    return;
  }
  get("/api/session/status", { session_id: id }, { quiet: true }).then((status) => {
    if (state.shown !== id) return;
    const path = status.workspace || "";
    view.root.textContent = path.slice(path.lastIndexOf("/") + 1) || path;
    view.root.title = path;
  }).catch(() => {});
  await Promise.all([state.tree.show(id), refreshChanges(id)]);
}

async function refresh() {
  if (!state.open || !state.shown) return;
  await Promise.all([state.tree.refresh(), refreshChanges(state.shown)]);
}

async function refreshChanges(id) {
  let changes;
  try {
    changes = await get("/api/workspace/changes", { session_id: id }, { quiet: true });
  } catch {
    return;
  }
  if (state.shown !== id) return;
  const paths = changes.files.map((file) => file.path);
  state.tree.setChanged(paths, changes.turn_started_at);
  const count = paths.length;
  const when = changes.live ? "this turn" : "the latest turn";
  view.summary.textContent = count ? `${count} file${count === 1 ? "" : "s"} changed in ${when}` : "";
}

/** A run's events: a new run, a tool that ended, the run's end each refresh what is shown. */
function onRunEvent(name, _data, streamId) {
  const fresh = streamId !== state.streamId;
  state.streamId = streamId;
  if (!fresh && !REFRESHING_EVENTS.has(name)) return;
  clearTimeout(state.timer);
  state.timer = setTimeout(refresh, REFRESH_DELAY_MS);
}

function choose(dir) {
  state.target = dir;
  view.targetLabel.textContent = dir ? `${dir}/` : "/";
}

// ── uploads ───────────────────────────────────────────────────────────────────────────────
async function uploadAll(files) {
  const id = state.shown;
  const dir = state.target;
  if (!id || !files.length) return;
  for (const file of files) {
    // One at a time: each may ask whether to replace a file.
    await uploadOne(id, dir, file);
  }
  if (state.shown === id) await refresh();
}

async function uploadOne(id, dir, file, overwrite = false) {
  try {
    const placed = await send(id, dir, file, overwrite);
    notify(`Uploaded ${placed.path}`);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    const path = joinPath(dir, file.name);
    if (err.status === 409 && err.body?.reason === "exists" && !overwrite) {
      const replace = await confirmDialog({
        title: "Replace the file?",
        message: `${path} already exists in the workspace. Replace it with the file you chose?`,
        confirmLabel: "Replace",
      });
      if (replace) await uploadOne(id, dir, file, true);
      else notify(`${path} already exists; it was kept as it was.`);
      return;
    }
    notify(err.message, "error");
  }
}

/** One multipart upload; the fields come first, since they say where the file goes. */
async function send(id, dir, file, overwrite, retried = false) {
  const form = new FormData();
  form.append("session_id", id);
  form.append("path", dir);
  if (overwrite) form.append("overwrite", "1");
  form.append("file", file, file.name);
  let reply;
  try {
    reply = await fetch("/api/workspace/upload", {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json", ...csrfHeaders() },
      body: form,
    });
  } catch {
    throw new ApiError(0, "Cannot reach the server", null);
  }
  const data = await reply.json().catch(() => ({}));
  if (reply.ok) return data;
  if (reply.status === 401) goToLogin();
  if (reply.status === 403 && data.code === "csrf" && !retried) {
    await initAuth(); // the password changed in another tab: this browser has a new token
    return send(id, dir, file, overwrite, true);
  }
  throw new ApiError(reply.status, data.error || `${reply.status} ${reply.statusText}`, data);
}

function remembered() {
  try {
    return localStorage.getItem(OPEN_KEY) === "open";
  } catch {
    return false;
  }
}

function remember(open) {
  try {
    localStorage.setItem(OPEN_KEY, open ? "open" : "closed");
  } catch {
    // Private mode: the panel just starts closed next time.
  }
}
