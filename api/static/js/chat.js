// The conversation pane: loads a session, runs turns, queues messages sent mid-run,
// reattaches to a live run after a reload, and offers stop, retry and undo.
import { ApiError, get, post } from "./api.js";
import { clear, el, notify } from "./dom.js";
import { bubble, renderTranscript } from "./messages.js";
import { liveRun } from "./live.js";
import { followStream } from "./stream.js";
import { currentSessionId, setCurrentSessionId } from "./state.js";

const view = {};
const run = { streamId: null, follower: null, queue: [] };
let hooks = {};
let loadToken = 0;

export function initChat(options) {
  hooks = options;
  view.log = document.getElementById("messages");
  view.title = document.getElementById("chat-title");
  view.empty = document.getElementById("empty-state");
  view.queued = document.getElementById("queued");
  view.stop = document.getElementById("stop-button");
  view.retry = document.getElementById("retry-button");
  view.undo = document.getElementById("undo-button");
  view.stop.addEventListener("click", stop);
  view.retry.addEventListener("click", retry);
  view.undo.addEventListener("click", undo);
  updateControls();
}

export function isRunning() {
  return Boolean(run.streamId);
}

export async function openSession(id) {
  detach();
  run.queue = [];
  setCurrentSessionId(id);
  await load(id, { attach: true });
}

export function newChat() {
  detach();
  run.queue = [];
  setCurrentSessionId(null);
  clear(view.log);
  view.title.textContent = "New chat";
  view.empty.hidden = false;
  updateControls();
}

async function load(id, { attach }) {
  const token = ++loadToken;
  let session;
  try {
    ({ session } = await get("/api/session", { session_id: id, msg_limit: 100 }));
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) newChat();
    return;
  }
  if (token !== loadToken) return;
  const live = attach && session.active_stream_id;
  let messages = session.messages || [];
  if (live) messages = upToLastUserTurn(messages, session.pending_user_message);
  clear(view.log);
  if (session._messages_truncated) {
    view.log.append(el("p", { class: "truncated", text: "Earlier messages are not shown." }));
  }
  view.log.append(renderTranscript(messages));
  view.title.textContent = session.title || "Untitled";
  view.empty.hidden = messages.length > 0 || Boolean(live);
  scrollToEnd();
  if (live) follow(session.active_stream_id, id);
  updateControls();
}

/** While a run is live, the stream replays its answer: show the transcript only up to the turn. */
function upToLastUserTurn(messages, pendingText) {
  let last = -1;
  messages.forEach((m, i) => { if (m?.role === "user") last = i; });
  const kept = messages.slice(0, last + 1);
  const lastText = last >= 0 ? messages[last].content : null;
  if (pendingText && lastText !== pendingText) kept.push({ role: "user", content: pendingText });
  return kept;
}

export async function send(text) {
  const message = text.trim();
  if (!message) return;
  if (isRunning()) {
    run.queue.push(message);
    showQueue();
    return;
  }
  let id = currentSessionId();
  if (!id) {
    const { session } = await post("/api/session/new");
    id = session.session_id;
    setCurrentSessionId(id);
    view.title.textContent = "New chat";
  }
  view.empty.hidden = true;
  const mine = bubble("user");
  mine.body.append(el("div", { class: "plain", text: message }));
  view.log.append(mine);
  scrollToEnd();
  try {
    const reply = await post("/api/chat/start", { session_id: id, message });
    follow(reply.stream_id, reply.session_id || id);
    hooks.sessionsChanged?.();
  } catch (err) {
    mine.classList.add("is-error");
    if (err instanceof ApiError && err.status === 409 && err.body?.active_stream_id) {
      mine.remove();
      run.queue.unshift(message);
      showQueue();
      follow(err.body.active_stream_id, id);
    }
  }
}

function follow(streamId, sessionId) {
  run.streamId = streamId;
  const handlers = liveRun(view.log, sessionId, {
    scroll: scrollToEnd,
    titleChanged: () => hooks.sessionsChanged?.(),
    done: (session) => {
      if (session?.session_id && session.session_id !== currentSessionId()) {
        setCurrentSessionId(session.session_id);
      }
    },
  });
  run.follower = followStream(streamId, handlers, (reason) => finished(reason));
  updateControls();
}

async function finished(reason) {
  run.streamId = null;
  run.follower = null;
  updateControls();
  const id = currentSessionId();
  if (reason !== "closed" && id) await load(id, { attach: false });
  if (reason === "lost") notify("Lost the connection to the run; showing what was saved.", "error");
  hooks.sessionsChanged?.();
  const next = run.queue.shift();
  showQueue();
  if (next && reason !== "closed") await send(next);
}

function detach() {
  run.follower?.close();
  run.follower = null;
  run.streamId = null;
  showQueue();
}

async function stop() {
  if (!run.streamId) return;
  run.queue = [];
  showQueue();
  await post("/api/chat/cancel", { stream_id: run.streamId }).catch(() => {});
}

export function stopIfRunning() {
  if (isRunning()) stop();
}

async function retry() {
  const id = currentSessionId();
  if (!id || isRunning()) return;
  try {
    const reply = await post("/api/session/retry", { session_id: id });
    await load(id, { attach: false });
    await send(reply.last_user_text || "");
  } catch {
    // The notice already says why (e.g. nothing to retry).
  }
}

async function undo() {
  const id = currentSessionId();
  if (!id || isRunning()) return;
  try {
    const reply = await post("/api/session/undo", { session_id: id });
    notify(`Removed ${reply.removed_count} message(s)`);
    await load(id, { attach: false });
    hooks.sessionsChanged?.();
  } catch {
    // Shown by the notice.
  }
}

function showQueue() {
  const count = run.queue.length;
  view.queued.hidden = count === 0;
  view.queued.textContent = count ? `${count} message${count > 1 ? "s" : ""} queued; sent when this answer ends` : "";
}

function updateControls() {
  const running = isRunning();
  const hasSession = Boolean(currentSessionId());
  view.stop.hidden = !running;
  view.retry.disabled = running || !hasSession;
  view.undo.disabled = running || !hasSession;
}

function scrollToEnd() {
  view.log.scrollTop = view.log.scrollHeight;
}
