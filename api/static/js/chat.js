// The conversation pane: shows a session (its latest page; history.js fetches older ones), runs
// turns, queues messages sent mid-run, reattaches to a live run after a reload, and offers
// stop, retry, undo and editing the last message.
import { ApiError, get, post } from "./api.js";
import { attachmentList } from "./attachment-chips.js";
import { restoreFiles } from "./attachments.js";
import { clear, notify } from "./dom.js";
import { addEditControl } from "./edit.js";
import { PAGE_SIZE, initHistory } from "./history.js";
import { bubble, renderTranscript, userText } from "./messages.js";
import { liveRun } from "./live.js";
import { chosenModel, initModelPicker, modelFollows, showModel } from "./model-picker.js";
import { enqueue, initQueue, returnToDraft, takeAll, takeNext } from "./queue.js";
import { followStream } from "./stream.js";
import { currentSessionId, setCurrentSessionId } from "./state.js";
import { initUsage, refreshUsage } from "./usage.js";

const STICK_PX = 80; // this close to the bottom, new text keeps the view at the end
const SETTLE_TRIES = 20;
const SETTLE_PAUSE_MS = 150;

const view = { total: 0, stuck: true, editButton: null };
const run = { streamId: null, follower: null, starting: false };
let hooks = {};
let history = null;
let loadToken = 0;

export function initChat(options) {
  hooks = options;
  view.log = document.getElementById("messages");
  view.title = document.getElementById("chat-title");
  view.empty = document.getElementById("empty-state");
  view.stop = document.getElementById("stop-button");
  view.retry = document.getElementById("retry-button");
  view.undo = document.getElementById("undo-button");
  view.stop.addEventListener("click", stop);
  view.retry.addEventListener("click", retry);
  view.undo.addEventListener("click", undo);
  view.jump = document.getElementById("jump-latest");
  view.jump.addEventListener("click", () => scrollToEnd(true));
  view.log.addEventListener("scroll", () => setStuck(nearBottom()), { passive: true });
  view.log.addEventListener("click", (event) => {
    const button = event.target.closest(".branch-here");
    if (button) branchFrom(button.closest("[data-index]"));
  });
  history = initHistory(view.log);
  initQueue(document.getElementById("queued"));
  // Leaving the page (a reload, a closed tab) keeps what is queued as the draft it reopens with;
  // a page the browser kept and shows again puts that draft back in the box.
  window.addEventListener("pagehide", () => returnToDraft(currentSessionId()));
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) hooks.opened?.(currentSessionId());
  });
  initUsage();
  initModelPicker();
  updateControls();
}

export function isRunning() {
  return Boolean(run.streamId) || run.starting;
}

/** Shows conversation `id`; `how.replace` names it in place of the address's entry. */
export async function openSession(id, how = {}) {
  detach();
  setCurrentSessionId(id, how);
  hooks.opened?.(id);
  await load(id, { attach: true });
}

export function newChat(how = {}) {
  detach();
  loadToken += 1;
  view.readOnly = false;
  setCurrentSessionId(null, how);
  hooks.opened?.(null);
  clear(view.log);
  history.reset(null, 0);
  view.total = 0;
  view.editButton = null;
  view.title.textContent = "New chat";
  view.empty.hidden = false;
  refreshUsage(null);
  showModel(null, "");
  updateControls();
}

/** Fetches and shows the session; with `attach`, also follows its live run. */
async function load(id, { attach = false } = {}) {
  const token = ++loadToken;
  const session = await fetchSession(id);
  if (!session || token !== loadToken || (!attach && isRunning())) return null;
  show(session, { attach, keepPlace: !attach });
  return session;
}

async function fetchSession(id, keep = 0) {
  try {
    const { session } = await get("/api/session", { session_id: id, msg_limit: Math.max(PAGE_SIZE, keep) });
    return session;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404 && id === currentSessionId()) newChat({ replace: true });
    return null;
  }
}

function show(session, { attach, keepPlace }) {
  const id = session.session_id;
  const live = attach ? session.active_stream_id : null;
  const saved = session.messages || [];
  const messages = live ? withPendingTurn(saved, session.pending_user_message, session.pending_attachments) : saved;
  const offset = session._messages_offset || 0;
  const top = view.log.scrollTop;
  const stay = keepPlace && !view.stuck;
  clear(view.log);
  view.log.append(renderTranscript(messages, offset));
  history.reset(id, offset);
  view.total = offset + saved.length;
  view.title.textContent = session.title || "Untitled";
  view.readOnly = Boolean(session.read_only);
  if (view.readOnly) notify(`Started in the ${surfaceLabel(session.source)}: a message here continues it.`);
  view.empty.hidden = messages.length > 0 || Boolean(live);
  placeEditControl(); // before scrolling: it adds a line above the end
  if (stay) view.log.scrollTop = top;
  else scrollToEnd(true);
  setStuck(nearBottom());
  refreshUsage(id);
  showModel(id, session.model || "");
  if (live) follow(live, id);
}

function surfaceLabel(source) {
  return { tui: "terminal", cli: "command line", telegram: "Telegram chat", cron: "scheduler" }[source] || "another app";
}

/**
 * A live run's turn is not in the transcript yet: the user's message waits in
 * `pending_user_message` and the stream replays the answer from its first event. So the pane
 * shows the saved messages, then the pending one, then the replay: each exactly once.
 */
function withPendingTurn(messages, pendingText, attachments) {
  return pendingText ? [...messages, { role: "user", content: pendingText, attachments }] : messages;
}

/** Sends `text` with `files` (uploaded files' descriptions) to the shown conversation. */
export async function send(text, files = []) {
  const message = text.trim();
  if (!message) return;
  if (isRunning()) {
    enqueue(message, { files });
    return;
  }
  run.starting = true;
  updateControls();
  try {
    await start(message, files);
  } finally {
    run.starting = false;
    updateControls();
  }
}

async function start(message, files) {
  let id = currentSessionId();
  if (!id) {
    const { session } = await post("/api/session/new", { project_id: hooks.projectId?.() || undefined });
    id = session.session_id;
    setCurrentSessionId(id, { replace: true }); // the new chat, now with an id
    modelFollows(null, id);
    view.title.textContent = "New chat";
  }
  if (view.readOnly) {
    await post("/api/session/import_cli", { session_id: id });
    view.readOnly = false;
  }
  view.empty.hidden = true;
  removeEditControl(); // the message that can be edited is about to change
  const mine = bubble("user");
  mine.sourceText = message;
  mine.body.append(userText(message));
  if (files.length) mine.body.append(attachmentList(files));
  mine.files = files;
  view.log.append(mine);
  scrollToEnd(true);
  const attachments = files.length ? files.map((file) => file.id) : undefined;
  try {
    const reply = await post("/api/chat/start", { session_id: id, message, model: chosenModel(), attachments });
    follow(reply.stream_id, reply.session_id || id);
    hooks.sessionsChanged?.();
  } catch (err) {
    mine.classList.add("is-error");
    if (err instanceof ApiError && err.status === 409 && err.body?.active_stream_id) {
      mine.remove();
      enqueue(message, { first: true, files });
      follow(err.body.active_stream_id, id);
    } else {
      restoreFiles(id, files); // not sent: back in the tray, for another try
    }
  }
}

function follow(streamId, sessionId) {
  run.streamId = streamId;
  const handlers = liveRun(view.log, sessionId, {
    scroll: () => scrollToEnd(),
    titleChanged: () => hooks.sessionsChanged?.(),
    done: (session) => {
      if (session?.session_id && session.session_id !== currentSessionId()) {
        modelFollows(currentSessionId(), session.session_id);
        setCurrentSessionId(session.session_id, { replace: true });
      }
    },
  });
  run.follower = followStream(streamId, handlers, {
    onEnd: (reason) => finished(streamId, reason),
    onState: handlers.connection,
  });
  updateControls();
}

async function finished(streamId, reason) {
  if (run.streamId !== streamId) return; // detached on purpose: another session is shown
  run.streamId = null;
  run.follower = null;
  updateControls();
  const id = currentSessionId();
  if (id) await loadSettled(id, streamId);
  if (reason === "lost") notify("Lost the connection to the run; showing what was saved.", "error");
  hooks.sessionsChanged?.();
  const next = takeNext();
  if (next && isRunning()) enqueue(next.text, { first: true, files: next.files }); // another run began: it waits for that one
  else if (next) await send(next.text, next.files);
}

/**
 * Shows the session once the ended run's turn is saved: a cancel is announced a moment
 * before the server has folded the turn into the transcript. Keeps the pages already shown.
 */
async function loadSettled(id, streamId) {
  const token = ++loadToken;
  const keep = view.total - history.offset() + PAGE_SIZE;
  let session = null;
  for (let attempt = 0; attempt < SETTLE_TRIES; attempt += 1) {
    session = await fetchSession(id, keep);
    if (!session || session.active_stream_id !== streamId) break;
    await new Promise((resolve) => setTimeout(resolve, SETTLE_PAUSE_MS));
  }
  // A message sent meanwhile streams into the pane: redrawing it would cut that run off.
  if (session && token === loadToken && !isRunning()) show(session, { attach: false, keepPlace: true });
}

/** Stops following the shown run (it goes on); what was queued for it becomes its draft. */
function detach() {
  const follower = run.follower;
  run.follower = null;
  run.streamId = null;
  follower?.close();
  returnToDraft(currentSessionId());
}

/** Stopping means nothing more goes out unasked: queued messages go back in the box. */
async function stop() {
  if (!run.streamId) return;
  const queued = takeAll(currentSessionId());
  if (queued) hooks.putBack?.(queued);
  await post("/api/chat/cancel", { stream_id: run.streamId }).catch(() => {});
}

/** Opens the editor of the last user message, if it can be edited now; says whether it did. */
export function editLast() {
  const button = view.editButton;
  if (!button || button.hidden || !button.isConnected) return false;
  button.click();
  return true;
}

export function stopIfRunning() {
  if (isRunning()) stop();
}

async function retry() {
  const id = currentSessionId();
  if (!id || isRunning()) return;
  const files = lastUserFiles(); // the message goes again with its files
  try {
    const reply = await post("/api/session/retry", { session_id: id });
    await load(id);
    await send(reply.last_user_text || "", files);
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
    await load(id);
    hooks.sessionsChanged?.();
  } catch {
    // Shown by the notice.
  }
}

/** A new conversation holding the transcript up to and including `node`'s message. */
async function branchFrom(node) {
  const id = currentSessionId();
  if (!id || !node) return;
  try {
    const { session } = await post("/api/session/branch", { session_id: id, keep_count: Number(node.dataset.index) + 1 });
    hooks.sessionsChanged?.();
    await openSession(session.session_id);
    notify("Branched into a new conversation");
  } catch {
    // The notice already says why.
  }
}

function removeEditControl() {
  view.editButton?.closest(".msg-tools")?.remove();
  view.editButton = null;
}

/** Only the last user message can be edited: it and everything after it are replaced. */
function placeEditControl() {
  removeEditControl();
  let node = view.log.lastElementChild;
  while (node && !(node.classList.contains("msg-user") && node.dataset.index)) node = node.previousElementSibling;
  if (node) view.editButton = addEditControl(node, (text) => resendEdited(node, text));
  updateControls();
}

async function resendEdited(node, text) {
  const id = currentSessionId();
  if (!id || isRunning()) return false;
  const index = Number(node.dataset.index);
  try {
    await post("/api/session/truncate", { session_id: id, keep_count: index });
  } catch {
    return false; // the notice says why; the editor stays open
  }
  while (node.nextSibling) node.nextSibling.remove();
  node.remove();
  view.total = index;
  await send(text, node.files || []);
  return true;
}

/** The uploaded files the last message of yours in the pane carries. */
function lastUserFiles() {
  const mine = [...view.log.querySelectorAll(".msg-user")].pop();
  return mine?.files || [];
}

function updateControls() {
  const running = isRunning();
  const hasSession = Boolean(currentSessionId());
  view.stop.hidden = !running;
  view.retry.disabled = running || !hasSession;
  view.undo.disabled = running || !hasSession;
  if (view.editButton) view.editButton.hidden = running || Boolean(view.editButton.closest(".is-editing"));
}

function nearBottom() {
  const { scrollHeight, scrollTop, clientHeight } = view.log;
  return scrollHeight - scrollTop - clientHeight < STICK_PX;
}

/** Follows new text to the end unless the reader has scrolled up; `force` always scrolls. */
function scrollToEnd(force = false) {
  if (!force && !view.stuck) return;
  view.log.scrollTop = view.log.scrollHeight;
  setStuck(true);
}

/** At the end, new text keeps the view there; elsewhere a button leads back to it. */
function setStuck(stuck) {
  view.stuck = stuck;
  view.jump.hidden = stuck;
}
